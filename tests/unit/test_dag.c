/* Unit tests of the symbolic core: canonical forms, exact folding, correctly rounded
 * conversion of rationals to doubles, and the run look-up the scheduler relies on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "hessgen.h"

static int setup(void **state)
{
    (void)state;
    dag_init();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dag_free();
    return 0;
}

static Node q(long num, long den)
{
    mpq_t r;
    mpq_init(r);
    mpq_set_si(r, num, (unsigned long)den);
    mpq_canonicalize(r);
    Node n = dag_const(r);
    mpq_clear(r);
    return n;
}

static void commutative_operands_are_ordered(void **state)
{
    (void)state;
    Node x = dag_param(0), y = dag_param(1), z = dag_param(2);
    assert_int_equal(dag_mul(x, y), dag_mul(y, x));
    assert_int_equal(dag_add(x, y), dag_add(y, x));
    assert_int_equal(dag_add(dag_add(x, y), z), dag_add(x, dag_add(y, z)));
    assert_int_equal(dag_mul(dag_mul(x, y), z), dag_mul(x, dag_mul(y, z)));
    assert_int_equal(dag_op(dag_add(dag_add(x, y), z)), OP_ADD);
    assert_int_equal(dag_nargs(dag_add(dag_add(x, y), z)), 3); /* flattened */
}

static void like_terms_and_factors_merge(void **state)
{
    (void)state;
    Node x = dag_param(0), y = dag_param(1);
    assert_int_equal(dag_add(x, x), dag_mul(dag_int(2), x));
    assert_int_equal(dag_sub(x, x), DAG_ZERO);
    assert_int_equal(dag_mul(x, x), dag_powi(x, 2));
    assert_int_equal(dag_mul(dag_powi(x, 2), dag_recip(x)), x);
    assert_int_equal(dag_add(dag_add(x, DAG_ONE), dag_sub(y, DAG_ONE)), dag_add(x, y));
    /* a constant times a sum inside a sum is distributed: 2*(x+1) + y = 2*x + y + 2 */
    Node lhs = dag_add(dag_mul(dag_int(2), dag_add(x, DAG_ONE)), y);
    Node rhs = dag_add_n((Node[]){dag_mul(dag_int(2), x), y, dag_int(2)}, 3);
    assert_int_equal(lhs, rhs);
    /* the lecture's Hessian entry: -2*(1 - w1*w2) + 2*w1*w2 = 4*w1*w2 - 2 */
    Node w = dag_mul(x, y);
    Node h = dag_add(dag_mul(dag_int(-2), dag_sub(DAG_ONE, w)), dag_mul(dag_int(2), w));
    assert_int_equal(h, dag_sub(dag_mul(dag_int(4), w), dag_int(2)));
}

static void constants_fold_exactly(void **state)
{
    (void)state;
    assert_int_equal(dag_add(q(1, 3), q(1, 6)), q(1, 2));
    assert_int_equal(dag_powi(q(2, 3), -2), q(9, 4));
    mpq_t half;
    mpq_init(half);
    mpq_set_ui(half, 1, 2);
    assert_int_equal(dag_powq(dag_int(4), half), dag_int(2));
    assert_int_equal(dag_op(dag_powq(dag_int(2), half)), OP_POW); /* sqrt(2) stays symbolic */
    mpq_clear(half);
    assert_int_equal(dag_mul(DAG_ZERO, dag_param(0)), DAG_ZERO);
    assert_int_equal(dag_unary(OP_EXP, DAG_ZERO), DAG_ONE);
    assert_int_equal(dag_unary(OP_SIGMOID, DAG_ZERO), q(1, 2));
    assert_int_equal(dag_op(dag_unary(OP_EXP, DAG_ONE)), OP_EXP); /* e is not rational */
    assert_int_equal(dag_unary(OP_LOG, dag_unary(OP_EXP, dag_param(0))), dag_param(0));
    assert_int_equal(dag_unary(OP_ABS, q(-3, 2)), q(3, 2));
    assert_int_equal(dag_unary(OP_RELU, q(-3, 2)), DAG_ZERO);
}

static void powers_of_products_keep_their_constant_outside(void **state)
{
    (void)state;
    Node x = dag_param(0);
    assert_int_equal(dag_powi(dag_neg(x), 2), dag_powi(x, 2));
    assert_int_equal(dag_powi(dag_powi(x, 2), 3), dag_powi(x, 6));
    /* (x^(1/2))^2 is not x: it is undefined for x < 0 */
    mpq_t half;
    mpq_init(half);
    mpq_set_ui(half, 1, 2);
    assert_int_not_equal(dag_powi(dag_powq(x, half), 2), x);
    mpq_clear(half);
}

/* |d - q| must not exceed the distance from q to either neighbour of d. */
static void assert_nearest(mpq_srcptr r)
{
    double d = rat_to_double(r);
    mpq_t e, n, t;
    mpq_inits(e, n, t, NULL);
    mpq_set_d(t, d);
    mpq_sub(e, t, r);
    mpq_abs(e, e);
    double nb[2] = {nextafter(d, INFINITY), nextafter(d, -INFINITY)};
    for (int k = 0; k < 2; k++) {
        mpq_set_d(t, nb[k]);
        mpq_sub(n, t, r);
        mpq_abs(n, n);
        int c = mpq_cmp(e, n);
        assert_true(c <= 0);
        if (c == 0) { /* a tie goes to the even significand */
            int ex;
            assert_true((int64_t)ldexp(frexp(d, &ex), 53) % 2 == 0);
        }
    }
    mpq_clears(e, n, t, NULL);
}

static void rationals_round_to_nearest_double(void **state)
{
    (void)state;
    mpq_t r;
    mpq_init(r);
    mpq_set_ui(r, 1, 10);
    assert_true(rat_to_double(r) == 0.1);
    mpq_set_ui(r, 1, 3);
    assert_true(rat_to_double(r) == 1.0 / 3.0);
    /* 2^53 + 1 is a tie between 2^53 and 2^53 + 2: to even, 2^53 */
    mpz_set_ui(mpq_numref(r), 1);
    mpz_mul_2exp(mpq_numref(r), mpq_numref(r), 53);
    mpz_add_ui(mpq_numref(r), mpq_numref(r), 1);
    mpz_set_ui(mpq_denref(r), 1);
    assert_true(rat_to_double(r) == 9007199254740992.0);
    /* subnormals round once: 2^-1075 + tiny is nearer 2^-1074 than 0 */
    mpz_set_ui(mpq_numref(r), 1);
    mpz_mul_2exp(mpq_numref(r), mpq_numref(r), 1100);
    mpz_add_ui(mpq_numref(r), mpq_numref(r), 1);
    mpz_set_ui(mpq_denref(r), 1);
    mpz_mul_2exp(mpq_denref(r), mpq_denref(r), 2175);
    assert_true(rat_to_double(r) == 0x1p-1074);
    srand(12345);
    for (int k = 0; k < 20000; k++) {
        long num = (long)rand() * rand() - (long)RAND_MAX * RAND_MAX / 2;
        unsigned long den = (unsigned long)rand() % 1000000007u + 1;
        mpq_set_si(r, num, den);
        mpq_canonicalize(r);
        if (k % 3 == 0)
            mpz_mul_2exp(mpq_numref(r), mpq_numref(r), (mp_bitcnt_t)(rand() % 200));
        if (k % 3 == 1)
            mpz_mul_2exp(mpq_denref(r), mpq_denref(r), (mp_bitcnt_t)(rand() % 200));
        if (k % 7 == 2) /* deep into the subnormals and past the smallest one */
            mpz_mul_2exp(mpq_denref(r), mpq_denref(r), (mp_bitcnt_t)(1000 + rand() % 140));
        mpq_canonicalize(r);
        if (mpq_sgn(r) != 0)
            assert_nearest(r);
    }
    mpq_clear(r);
}

static void runs_of_products_are_found(void **state)
{
    (void)state;
    Node x[6];
    for (int i = 0; i < 6; i++)
        x[i] = dag_param((uint32_t)i);
    Node all = dag_mul_n(x, 6);
    Node pre = dag_mul_run(all, 0, 3);
    size_t len = 0;
    assert_int_equal(dag_find_longest(OP_MUL, dag_args(all), 5, &len), pre);
    assert_int_equal(len, 3);
    assert_int_equal(dag_mul_without(all, 2), dag_mul_n((Node[]){x[0], x[1], x[3], x[4], x[5]}, 5));
    assert_int_equal(dag_find(OP_MUL, dag_args(all), 6), all);
}

/* The hash index (util.c) finds every item added, under hashes that collide as well as under
 * distinct ones, stays at most half full, and ends every probe at an empty slot. */
static uint64_t item_hashes[5001];

static uint64_t hash_of_item(uint32_t item, void *ctx)
{
    (void)ctx;
    return item_hashes[item];
}

static void the_hash_index_finds_every_item(void **state)
{
    (void)state;
    for (int collide = 0; collide <= 1; collide++) {
        HashIndex t = {0};
        uint32_t k = 0;
        assert_int_equal(hash_index_next(&t, 42, &k), 0); /* empty: no probe at all */
        for (uint32_t i = 1; i <= 5000; i++) {
            item_hashes[i] = collide ? (i % 7) * 1024 : i * 0x9E3779B97F4A7C15ull;
            hash_index_add(&t, item_hashes[i], i, hash_of_item, NULL);
            assert_true(t.cap >= 2 * t.used && (t.cap & (t.cap - 1)) == 0);
        }
        assert_int_equal(t.used, 5000);
        for (uint32_t i = 1; i <= 5000; i++) {
            uint32_t found = 0, steps = 0, item;
            for (k = 0; (item = hash_index_next(&t, item_hashes[i], &k));) {
                steps++;
                if (item == i)
                    found = item;
            }
            assert_int_equal(found, i);   /* on its probe sequence */
            assert_true(steps <= t.used); /* and the sequence ends */
        }
        hash_index_free(&t);
        assert_null(t.slots);
        assert_int_equal(t.cap, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(commutative_operands_are_ordered, setup, teardown),
        cmocka_unit_test_setup_teardown(like_terms_and_factors_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(constants_fold_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(powers_of_products_keep_their_constant_outside, setup, teardown),
        cmocka_unit_test_setup_teardown(rationals_round_to_nearest_double, setup, teardown),
        cmocka_unit_test_setup_teardown(runs_of_products_are_found, setup, teardown),
        cmocka_unit_test(the_hash_index_finds_every_item),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
