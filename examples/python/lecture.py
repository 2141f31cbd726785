#!/usr/bin/env python3
"""The lecture's running example from Python, then logistic regression on data.

    PYTHONPATH=python HESSGEN=build/hessgen python3 examples/python/lecture.py

The weakest network y = w1*w2*x with one data pair (1, 1): loss (1 - w1*w2)^2. Its origin is
a saddle (Hessian eigenvalues -2 and 2); pure Newton, theta - H^-1 g, is drawn to it; scipy's
trust-exact with hessgen's exact Hessian leaves it and reaches the valley w1*w2 = 1, where the
analyzer (in process) finds a zero eigenvalue and the exact classifier proves a minimum.
"""
import os

import numpy as np
import scipy.optimize

import hessgen

HERE = os.path.dirname(os.path.abspath(__file__))
EX = os.path.dirname(HERE)

m = hessgen.load(os.path.join(EX, 'weakest.hl'))
g0, ev = m.grad([0.0, 0.0]), np.linalg.eigvalsh(m.hess([0.0, 0.0]))
print('weakest network: %d parameters (%s), loss at the origin %g' % (m.n, ', '.join(m.names), m.loss([0, 0])))
# a saddle: the gradient is exactly 0 there and the Hessian has eigenvalues of both signs
kind = 'saddle' if not g0.any() and ev[0] < 0 < ev[-1] else 'not a saddle'
print('%s at the origin: eigenvalues %g, %g' % ((kind,) + tuple(ev)))

theta = np.array([0.1, 0.05])
for _ in range(50):  # pure Newton: the step solves H s = -g
    theta = theta - np.linalg.solve(m.hess(theta), m.grad(theta))
at_saddle = np.linalg.norm(theta) < 1e-12
print('pure Newton from (0.1, 0.05) %s: (%.3g, %.3g), gradient norm %.2g'
      % ('ends at the saddle' if at_saddle else 'does not end at the saddle', theta[0], theta[1],
         np.linalg.norm(m.grad(theta))))

r = scipy.optimize.minimize(m.loss, [0.1, 0.05], jac=m.grad, hess=m.hess, method='trust-exact', options={'gtol': 1e-10})
w1, w2 = r.x
in_valley = r.success and abs(w1 * w2 - 1) < 1e-9  # the minima are the curve w1*w2 = 1
print('trust-exact %s: w1*w2 = %.12f at (%.6f, %.6f), loss %.2g, Hessian eigenvalues %s'
      % ('ends in the valley' if in_valley else 'does not reach the valley', w1 * w2, w1, w2, r.fun,
         np.round(np.linalg.eigvalsh(m.hess(r.x)), 6)))

# the analyzer (libhessrt, in this process) at that point, then the exact classifier on the
# valley's rational point (2, 1/2): the second-order test cannot decide a zero eigenvalue
c = m.classify(r.x)
print('the analyzer there: %s (%d negative, %d zero, %d positive eigenvalues)'
      % (c['verdict'], c['inertia']['negative'], c['inertia']['zero'], c['inertia']['positive']))
d = hessgen.classify_exact(os.path.join(EX, 'weakest.hl'), at='2,1/2')
print('hessgen --classify at (2, 1/2): %s; %s' % (d['verdict'], d['reason']))

# logistic regression over the example's data (CSV with a header line)
X = np.loadtxt(os.path.join(EX, 'data', 'logistic_X.csv'), delimiter=',', skiprows=1)
y = np.loadtxt(os.path.join(EX, 'data', 'logistic_y.csv'), delimiter=',', skiprows=1)
lr = hessgen.load(os.path.join(EX, 'logistic.hl'), data={'X': X, 'y': y})
r = scipy.optimize.minimize(lr.loss, lr.start, jac=lr.grad, hessp=lr.hvp, method='trust-krylov')
ev = np.linalg.eigvalsh(lr.hess(r.x))
print('logistic regression on %d rows%s: %s = %s, loss %.6f, gradient norm %.1e, Hessian eigenvalues %.3g to %.3g'
      % (len(y), '' if r.success else ' (scipy did not report convergence)', ', '.join(lr.names), np.array2string(r.x, precision=4), r.fun, np.linalg.norm(lr.grad(r.x)),
         ev[0], ev[-1]))
# scipy stops at a gradient norm of 1e-5 by default; the analyzer's test is stricter
c = lr.classify(r.x)
print('the analyzer at scipy\'s answer: %s (the Newton step its gradient implies is %.1e)' % (c['verdict'], c['implied_step']))
t = lr.newton(start=r.x)
print('trust-region Newton from there: %s in %d iterations, %s, gradient norm %.1e'
      % (t['status'], t['iterations'], t['verdict'], t['gradient_norm']))
