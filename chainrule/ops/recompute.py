"""Second derivatives of a fused primitive: its VJP recomputed with the clear, composed version.

A fused primitive (a dense stack, batch normalization, a recurrent sequence) computes its VJP
with in-place NumPy kernels that cannot be recorded.  When that VJP must be differentiated again
(``create_graph``: ``hessian``, ``gradgradcheck``, a gradient penalty), the primitive's output is
rebuilt from its graph inputs with the composed primitives it is tested against, and that is
differentiated, recording.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.ops.shape import Reshape
from chainrule.tensor import enable_grad, gradients

if TYPE_CHECKING:
    import numpy as np

    from chainrule._typing import Callable, Grads, Sequence, Tensor
    from chainrule.function import Function

__all__ = ["recomputed_vjp"]


def recomputed_vjp(ctx: Function, g: Tensor, values: Sequence[np.ndarray],
                   build: Callable[..., Tensor]) -> Grads:
    """``ctx``'s VJP for the output adjoint ``g`` (a Tensor) as a recorded computation.

    ``values`` are the primitive's input arrays (used where an input is a constant) and
    ``build(*inputs)`` recomputes its output from them with composed primitives.  Each input
    that needs a gradient enters through a recorded identity node of its own, so that its
    adjoint is the partial derivative of this primitive, not a total derivative through
    another input computed from it (a weight used twice, an input made from a weight):
    ``gradients`` returns total derivatives with respect to its targets.
    """
    wanted = [i for i, p in enumerate(ctx.parents) if p is not None and p.requires_grad]
    with enable_grad():
        inputs = [v if p is None else Reshape.apply(p, shape=p.shape) if p.requires_grad else p
                  for p, v in zip(ctx.parents, values)]
        y = build(*inputs)
        found = gradients(y, [inputs[i] for i in wanted], grad_outputs=g, create_graph=True)
    grads = [None] * len(values)
    for i, gi in zip(wanted, found):
        grads[i] = gi
    return tuple(grads)
