"""``torch.autograd``: ``grad`` (chainrule.gradients) and ``backward``."""
from chainrule._unsupported import missing
from chainrule.tensor import gradients


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple of Tensors, nothing stored in ``.grad`` (``torch.autograd.grad``)."""
    single = not isinstance(inputs, (list, tuple))
    found = gradients(outputs, inputs, grad_outputs=grad_outputs, create_graph=create_graph)
    if not allow_unused and any(g is None for g in found):
        raise RuntimeError("torch.autograd.grad: one of the inputs was not used to compute the output; pass "
                           "allow_unused=True to get None for it")
    return (found[0],) if single else tuple(found)


def backward(tensors, grad_tensors=None):
    tensors = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    grads = grad_tensors if isinstance(grad_tensors, (list, tuple)) else [grad_tensors] * len(tensors)
    for t, g in zip(tensors, grads):
        t.backward(g)


__getattr__ = missing(__name__, "torch.autograd", {"Function": "write a chainrule.Function (forward, backward, jvp)",
                                                   "functional": "chainrule.jacobian, chainrule.hessian, ..."})
