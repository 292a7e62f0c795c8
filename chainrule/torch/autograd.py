"""``torch.autograd``: ``grad`` (chainrule.gradients) and ``backward``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chainrule._unsupported import missing
from chainrule.tensor import Tensor, gradients

if TYPE_CHECKING:
    from chainrule._typing import TensorLike


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: TensorLike | Sequence[TensorLike] | None = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) as a tuple of Tensors, nothing stored in ``.grad`` (``torch.autograd.grad``)."""
    single = not isinstance(inputs, (list, tuple))
    found = gradients(outputs, inputs, grad_outputs=grad_outputs, create_graph=create_graph)
    if not allow_unused and any(g is None for g in found):
        raise RuntimeError("torch.autograd.grad: one of the inputs was not used to compute the output; pass "
                           "allow_unused=True to get None for it")
    return (found[0],) if single else tuple(found)


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: TensorLike | Sequence[TensorLike] | None = None) -> None:
    """Back-propagate from each of ``tensors`` (with its ``grad_tensors`` entry as the output's gradient),
    accumulating into the leaves' ``.grad`` (``torch.autograd.backward``)."""
    tensors = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    grads = grad_tensors if isinstance(grad_tensors, (list, tuple)) else [grad_tensors] * len(tensors)
    for t, g in zip(tensors, grads):
        t.backward(g)


__getattr__ = missing(__name__, "torch.autograd", {"Function": "write a chainrule.Function (forward, backward, jvp)",
                                                   "functional": "chainrule.jacobian, chainrule.hessian, ..."})
