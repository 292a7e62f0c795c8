"""The lecture notes' extrapolation data set: correlation energies of the pairing model."""

from __future__ import annotations

import numpy as np

__all__ = ["pairing_energies"]

#: Coupled-cluster doubles correlation energies of the pairing model for 2, 4, ..., 40 particles
#: (the notes' ``VaryDimension`` set).  The notes' listing cuts four values off at its line ends
#: (for 12, 14, 16 and 30 particles); they are the ones of the course's published program.
_ENERGIES = (-0.03077640549, -0.08336233266, -0.1446729567, -0.2116753732, -0.2830637392, -0.3581341341,
             -0.436462435, -0.5177783846, -0.6019067271, -0.6887363571, -0.7782028952, -0.8702784034,
             -0.9649652536, -1.062292565, -1.16231451, -1.265109911, -1.370782966, -1.479465113, -1.591317992,
             -1.70653767)


def pairing_energies() -> tuple[np.ndarray, np.ndarray]:
    """The number of particles and the correlation energy of the pairing model at each.

    A smooth, slowly curving series of 20 points that the notes' recurrent networks learn from
    its first 12 and then extrapolate, one step at a time.

    Returns
    -------
    n : ndarray of int64, shape (20,)
        2, 4, ..., 40 particles.
    energy : ndarray of float64, shape (20,)
        The correlation energies (negative, decreasing).

    Examples
    --------
    >>> n, e = pairing_energies()
    >>> n[:3].tolist(), e.shape, bool(np.all(np.diff(e) < 0))
    ([2, 4, 6], (20,), True)
    """
    return np.arange(2, 42, 2, dtype=np.int64), np.array(_ENERGIES, dtype=np.float64)
