"""The small harness the command-line test scripts share: register checks with @check, assert
with ok(), and run() them, ending with the plain `N passed, N failed` line ctest's log shows."""

CHECKS = []


def check(f):
    CHECKS.append(f)
    return f


def ok(cond, what):
    if not cond:
        raise AssertionError(what)


def run(stop_if_failed=()):
    """Runs every check in order; a failed check in stop_if_failed ends the run (the others
    depend on it). Returns the exit status: 1 if anything failed or nothing ran."""
    passed = failed = 0
    for c in CHECKS:
        try:
            c()
            passed += 1
            print('ok   ' + c.__name__)
        except Exception as e:  # a failed check, or a program that crashed or hung
            failed += 1
            print('FAIL %s: %s' % (c.__name__, e))
            if c in stop_if_failed:
                break
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed or passed == 0 else 0  # a run that checked nothing is a failure
