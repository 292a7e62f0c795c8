"""The base of every optimizer: binding parameters, gradient copies and clipping, the step loop, state.

How the update is computed (the same for every optimizer; the update rules themselves are in
:mod:`chainrule.optim.optimizers`):

1. the gradients are copied into a private float buffer (``.grad`` is never
   modified), clipped there if ``clipvalue``/``clipnorm``/``global_clipnorm``
   was given.  Without clipping, back-propagation usually writes them into that
   buffer already (the optimizer offers each Parameter its slice,
   ``Parameter.grad_storage()``), and nothing is copied (a weight decay that
   rewrites the buffer, SGD's, first gives ``.grad`` its own copy);
2. :meth:`Optimizer._update` computes the step d from that copy and the
   optimizer's state (momentum, squared-gradient averages, ...), all held in
   preallocated arrays of the parameter's dtype and updated in place;
3. theta -= d, in place, so ``p.data`` keeps its identity.

When every parameter of a dtype has a gradient (the usual case) the state and
scratch arrays of those parameters are views into one flat buffer, and step 2
runs a handful of ufuncs over the whole buffer instead of per parameter.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Optional, Union

import numpy as np

from chainrule.parameter import Parameter, constraints_changed
from chainrule.tensor import _clock
from chainrule.optim.schedules import LearningRateSchedule, _in_range
from chainrule.optim import schedules as _schedules

#: a learning rate: a float, a schedule (a LearningRateSchedule or any callable step -> lr)
LearningRate = Union[float, LearningRateSchedule, Callable[[int], float]]
#: the parameters an optimizer updates: Parameters, or PyTorch-style groups {'params': [...], 'lr': ...}
ParamsLike = Union[Parameter, Iterable[Parameter], Iterable[Mapping[str, Any]]]

__all__ = ["Optimizer", "from_config"]

#: class name -> Optimizer subclass, for rebuilding optimizers from their configs
_BY_CLASS = {}


class _Default(float):
    """A float default that remembers it was not passed (to detect ``lr`` and ``learning_rate`` both given)."""

    def __repr__(self):
        return float.__repr__(self)


def _is_schedule(lr):
    return isinstance(lr, LearningRateSchedule) or (callable(lr) and not isinstance(lr, numbers.Real))


def _lr_config(lr):
    if isinstance(lr, LearningRateSchedule):
        return lr.get_config()
    if callable(lr):
        raise TypeError(f"get_config: the learning-rate schedule {lr!r} is a plain callable and cannot be "
                        f"saved; use a chainrule.optim.schedules class (StepDecay, ExponentialDecay, ...)")
    return float(lr)


class _Bucket:
    """The parameters of one group with one dtype, and their state in flat buffers.

    ``g`` holds the (clipped) copies of the gradients, ``tmp`` is scratch,
    ``slots`` the optimizer's state (e.g. Adam's m and v); ``views[i]`` are
    the i-th parameter's pieces of ``[g, tmp, *slots]``, shaped like it.
    ``t`` is the step count shared by all the parameters while ``steps`` is
    None; once some parameter skipped a step (its grad was None) each keeps
    its own count in ``steps``, as PyTorch does.
    """

    __slots__ = ("params", "flats", "views", "ravels", "t", "steps", "scales")

    def __init__(self, params, dtype, slot_inits):
        self.params = params
        n = sum(p.data.size for p in params)
        self.flats = [np.zeros(n, dtype), np.zeros(n, dtype)]
        for init in slot_inits:
            self.flats.append(np.full(n, init, dtype))
        self.views, self.ravels = [], []
        off = 0
        for p in params:
            size, shape = p.data.size, p.data.shape
            self.views.append([f[off:off + size].reshape(shape) for f in self.flats])
            self.ravels.append(self.flats[0][off:off + size])
            off += size
        self.t = 0
        self.steps = None
        self.scales = None  # the slots hold scales[k] * (the state they stand for); None: as they are


def _project(work):
    """Keras' weight constraints: each parameter updated in this step that has one is projected,
    p <- constraint(p), right after its update (chainrule.nn.constraints)."""
    for _, b, active in work:
        params = b.params
        for i in (range(len(params)) if active is True else active):
            fn = params[i].constraint
            if fn is not None:
                data = params[i].data
                np.copyto(data, fn(data), casting="same_kind")


class Optimizer:
    """Base class of the optimizers: binding, gradient copies and clipping, the step loop, state.

    Parameters
    ----------
    params : iterable of Parameter, or of dicts, optional
        The parameters to update (a generator is fine), or PyTorch-style
        parameter groups ``[{'params': [...], 'lr': 0.1}, ...]`` whose keys
        override the optimizer's hyperparameters for those parameters.  Leave
        out to bind later with :meth:`bind` (``model.compile`` does that).
    lr : float or LearningRateSchedule
        The learning rate eta >= 0, or a schedule called with the step count.
        ``learning_rate=`` is accepted as Keras' name for it.
    clipvalue : float, optional
        Clip every gradient entry to [-clipvalue, clipvalue].
    clipnorm : float, optional
        Rescale each parameter's gradient g to g * min(1, clipnorm / ||g||).
    global_clipnorm : float, optional
        Rescale all gradients by min(1, global_clipnorm / ||(g_1, ..., g_n)||).

    At most one of the three clipping options may be given (as in Keras).
    Clipping works on the optimizer's copy of the gradients; ``.grad`` is left
    as it was.

    Attributes
    ----------
    lr : float
        The current learning rate (settable, e.g. by ReduceLROnPlateau).
    iterations : int
        The number of ``step()`` calls so far; schedules are evaluated at it.
    param_groups : list of dict
        ``{'params': [...], 'lr': ..., <hyperparameters>}`` per group.
    """

    #: hyperparameter names of the subclass (beyond lr), in signature order
    _hyper_names: tuple = ()
    #: names of the per-parameter state arrays
    _slot_names: tuple = ()
    _pre_update = None  # optional per-parameter hook (weight decay) run before _update
    #: True if _pre_update writes the gradient buffer g (SGD's g += lambda theta)
    _pre_update_writes_grad = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _BY_CLASS.setdefault(cls.__name__, cls)

    def __init__(self, params: Optional[ParamsLike] = None, lr: LearningRate = 0.01,
                 hyper: Optional[Mapping[str, Any]] = None, *, learning_rate: Optional[LearningRate] = None,
                 clipvalue: Optional[float] = None, clipnorm: Optional[float] = None,
                 global_clipnorm: Optional[float] = None) -> None:
        name = type(self).__name__
        if learning_rate is not None:
            if not isinstance(lr, _Default):
                raise TypeError(f"{name}: got both lr={lr!r} and learning_rate={learning_rate!r}; "
                                f"they are the same argument (PyTorch's and Keras' names), pass one")
            lr = learning_rate
        self.defaults = {"lr": self._check_lr(lr)}
        self.defaults.update(self._validate(dict(hyper or {})))
        clips = {k: v for k, v in (("clipvalue", clipvalue), ("clipnorm", clipnorm),
                                   ("global_clipnorm", global_clipnorm)) if v is not None}
        if len(clips) > 1:
            raise ValueError(f"{name}: pass at most one of clipvalue, clipnorm, global_clipnorm, got "
                             f"{', '.join(f'{k}={v!r}' for k, v in clips.items())}")
        for k, v in clips.items():
            clips[k] = _in_range(name, k, v, lo=0.0, lo_open=True)
        self.clipvalue = clips.get("clipvalue")
        self.clipnorm = clips.get("clipnorm")
        self.global_clipnorm = clips.get("global_clipnorm")
        self.iterations = 0
        self.param_groups = []
        self._params = []      # every bound parameter once, in bound order
        self._where = []       # (bucket, index in bucket) for each of them
        self._buckets = []     # per group: list of _Bucket
        self._pending = None   # a state dict loaded before binding
        if params is not None:
            if isinstance(params, numbers.Real) or _is_schedule(params):
                raise TypeError(f"{name}: the first argument is params (the parameters to optimize), got "
                                f"{params!r}; did you mean {name}(lr={params!r})?")
            self.bind(params)

    # ------------------------------------------------------------ validation
    def _check_lr(self, lr):
        if _is_schedule(lr):
            return lr
        return _in_range(type(self).__name__, "lr", lr, lo=0.0)

    def _validate(self, h):
        """Check and normalise hyperparameters (subclasses extend); returns the dict."""
        return h

    # --------------------------------------------------------------- binding
    def bind(self, params: ParamsLike) -> Optimizer:
        """Bind the parameters to optimize (what ``model.compile`` calls); returns self.

        Binding the same parameters again keeps the state; binding others
        starts afresh (zero state, ``iterations`` reset to 0).
        """
        name = type(self).__name__
        if isinstance(params, Parameter):
            params = [params]
        elif isinstance(params, dict):
            if "params" not in params:
                raise TypeError(f"{name}: params given as a dict must be a parameter group "
                                f"{{'params': [...], ...}}; for named parameters pass dict.values()")
            params = [params]
        elif hasattr(params, "parameters") and callable(params.parameters):
            raise TypeError(f"{name}: got the model {type(params).__name__} itself; pass model.parameters()")
        try:
            items = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Parameters or of parameter-group dicts, "
                            f"got {type(params).__name__}") from None
        if not items:
            raise ValueError(f"{name}: got an empty parameter list; a model must be built (have parameters) "
                             f"before it can be optimized")
        if all(isinstance(it, dict) for it in items):
            raw_groups = items
        elif any(isinstance(it, dict) for it in items):
            raise TypeError(f"{name}: params mixes parameter-group dicts and Parameters; use groups for all")
        else:
            raw_groups = [{"params": items}]

        groups, seen, flat = [], set(), []
        for gi, raw in enumerate(raw_groups):
            raw = dict(raw)
            ps = raw.pop("params", None)
            if ps is None:
                raise TypeError(f"{name}: parameter group {gi} has no 'params' key")
            ps = [ps] if isinstance(ps, Parameter) else list(ps)
            if "learning_rate" in raw:
                raw["lr"] = raw.pop("learning_rate")
            unknown = set(raw) - {"lr"} - set(self._hyper_names) - self._group_aliases()
            if unknown:
                raise ValueError(f"{name}: parameter group {gi} has unknown keys {sorted(unknown)}; allowed: "
                                 f"{['params', 'lr', *self._hyper_names]}")
            group = {k: v for k, v in self.defaults.items()}
            if "lr" in raw:
                group["lr"] = self._check_lr(raw.pop("lr"))
            hyper = {k: v for k, v in group.items() if k != "lr"}
            hyper.update(raw)
            group.update(self._validate(hyper))
            kept = []
            for i, p in enumerate(ps):
                if not isinstance(p, Parameter):
                    raise TypeError(f"{name}: params must be chainrule.nn.Parameter objects, got "
                                    f"{type(p).__name__} at position {i}; wrap arrays as Parameter(array)")
                if p.data.dtype.kind != "f":
                    raise TypeError(f"{name}: only floating-point parameters can be optimized, got dtype "
                                    f"{p.data.dtype} at position {i}{' (' + p.name + ')' if p.name else ''}")
                if id(p) not in seen:
                    seen.add(id(p))
                    kept.append(p)
            group["params"] = kept
            groups.append(group)
            flat.extend(kept)

        if [id(p) for p in flat] == [id(p) for p in self._params] and self._params:
            same = all(len(g["params"]) == len(o["params"]) for g, o in zip(groups, self.param_groups))
            if same and len(groups) == len(self.param_groups):
                for g, o in zip(groups, self.param_groups):
                    o.update({k: v for k, v in g.items() if k != "params"})
                return self
        self.param_groups = groups
        self._params = flat
        self.iterations = 0
        self._build_state()
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.load_state_dict(pending)
        return self

    def _group_aliases(self):
        return set()

    def _slot_inits(self):
        """Initial value of each state slot (subclasses override)."""
        return [0.0] * len(self._slot_names)

    def _slot_scales(self, group, dtype):
        """Factors s_k such that slot k is kept as s_k times the state it stands for, for a bucket
        of ``dtype`` in ``group`` (None: kept as it is).  :meth:`state_dict` and
        :meth:`load_state_dict` see the state itself; a change of the factors (new
        hyperparameters) rescales the slots before the next step."""
        return None

    def _rescale(self, group, b):
        """Bring bucket b's slots to the factors ``_slot_scales`` gives now."""
        new = self._slot_scales(group, b.flats[0].dtype)
        old = b.scales
        if new != old:
            for k, f in enumerate(b.flats[2:]):
                ratio = (1.0 if new is None else new[k]) / (1.0 if old is None else old[k])
                if ratio != 1.0:
                    f *= ratio
            b.scales = new

    def _build_state(self):
        inits = self._slot_inits()
        self._buckets, where = [], {}
        for group in self.param_groups:
            by_dtype = {}
            for p in group["params"]:
                by_dtype.setdefault(p.data.dtype, []).append(p)
            buckets = [_Bucket(ps, dt, inits) for dt, ps in by_dtype.items()]
            for b in buckets:
                b.scales = self._slot_scales(group, b.flats[0].dtype)
                for i, p in enumerate(b.params):
                    where[id(p)] = (b, i)
                    # back-propagation may write the gradient here (see Parameter), unless clipping
                    # would then rewrite .grad itself
                    p._grad_out = None if self._clips() else b.views[i][0]
            self._buckets.append(buckets)
        self._where = [where[id(p)] for p in self._params]

    @property
    def params(self) -> list[Parameter]:
        """The bound parameters, in order (each once)."""
        return list(self._params)

    def _require_bound(self, what):
        if not self._params:
            name = type(self).__name__
            raise RuntimeError(
                f"{name}.{what}(): no parameters are bound to this optimizer; pass them when creating it, "
                f"{name}(model.parameters(), lr=...), or compile a model with it "
                f"(model.compile(optimizer=opt, ...)), which binds the model's parameters")

    # ---------------------------------------------------------- learning rate
    def _lr_at(self, lr):
        return lr if type(lr) is float else float(lr(self.iterations))

    @property
    def lr(self) -> float:
        """The current learning rate (the first group's; a schedule is evaluated at ``iterations``)."""
        lr = self.param_groups[0]["lr"] if self.param_groups else self.defaults["lr"]
        return self._lr_at(lr)

    @lr.setter
    def lr(self, value: LearningRate) -> None:
        if not _is_schedule(value) and any(_is_schedule(g["lr"]) for g in [self.defaults, *self.param_groups]):
            raise TypeError(f"{type(self).__name__}: the learning rate is a schedule "
                            f"({self.defaults['lr']!r}), so it cannot be set; create the optimizer with a "
                            f"float lr to change it from a callback")
        value = self._check_lr(value)
        self.defaults["lr"] = value
        for g in self.param_groups:
            g["lr"] = value

    learning_rate = lr  # Keras' name

    def group_lr(self, i: int) -> float:
        """The current learning rate of parameter group ``i``."""
        return self._lr_at(self.param_groups[i]["lr"])

    def set_group_lr(self, i: int, value: float) -> None:
        """Set parameter group ``i``'s learning rate (a float)."""
        if _is_schedule(self.param_groups[i]["lr"]):
            raise TypeError(f"{type(self).__name__}: group {i}'s learning rate is a schedule; it cannot be set")
        self.param_groups[i]["lr"] = _in_range(type(self).__name__, "lr", value, lo=0.0)
        if i == 0:
            self.defaults["lr"] = self.param_groups[0]["lr"]

    # ---------------------------------------------------------------- steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (default), or fill them with zeros in place."""
        self._require_bound("zero_grad")
        if set_to_none:
            for p in self._params:
                p.grad = None
        else:
            for p in self._params:
                if p.grad is not None:
                    if p.grad.flags.writeable:
                        p.grad.fill(0)
                    else:
                        p.grad = np.zeros_like(p.grad)

    def step(self) -> None:
        """Apply one update to every bound parameter that has a gradient (``.grad`` not None)."""
        if not self._params:
            self._require_bound("step")
        # 1. copy the gradients into the buckets' g buffers; find which parameters take part
        work = []
        for group, buckets in zip(self.param_groups, self._buckets):
            for b in buckets:
                active = self._gather(b)
                if active is not None:
                    work.append((group, b, active))
        # 2. clip the copies
        if self._clips():
            self._clip(work)
        # 3. update; each updated parameter's version advances (see Tensor.add_): a graph recorded
        # before this step can no longer be back-propagated through it
        pre = self._pre_update
        update = self._update
        _clock[0] += 1
        stamp = _clock[0]
        for group, b, active in work:
            if b.scales is not None or type(self)._slot_scales is not Optimizer._slot_scales:
                self._rescale(group, b)  # (betas changed since the last step)
            lr = group["lr"]
            if type(lr) is not float:
                lr = float(lr(self.iterations))
            params, views = b.params, b.views
            if pre is not None:
                for i in (range(len(params)) if active is True else active):
                    g = views[i][0]
                    if self._pre_update_writes_grad and params[i].grad is g:
                        params[i].grad = g.copy()  # back-propagation wrote .grad in place: keep it as it was
                    pre(params[i].data, g, views[i][1], lr, group)
            if active is True:  # every parameter has a gradient: one update over the flat buffers
                b.t += 1
                flats = b.flats
                d = update(flats[0], flats[1], flats[2:], lr, b.t, group)
                k = _index(flats, d)
                for p, v in zip(params, views):
                    np.subtract(p.data, v[k], out=p.data)
                    p._version = stamp
            else:
                steps = b.steps
                if steps is None:
                    steps = b.steps = [b.t] * len(params)
                for i in active:
                    v = views[i]
                    steps[i] += 1
                    d = update(v[0], v[1], v[2:], lr, steps[i], group)
                    pd = params[i].data
                    np.subtract(pd, d, out=pd)
                    params[i]._version = stamp
                if steps.count(steps[0]) == len(steps):
                    b.t, b.steps = steps[0], None
        if constraints_changed[0]:   # some Parameter of this process has (had) a constraint
            _project(work)
        self.iterations += 1

    def _gather(self, b):
        """Copy the gradients of bucket ``b`` into its g buffer.

        Returns True if every parameter has one and they share a step count
        (so the flat path applies), None if none has one, else the indices of
        those that do.
        """
        views = b.views
        missing = False
        for i, p in enumerate(b.params):
            g = p.grad
            if g is None:
                missing = True
                continue
            gv = views[i][0]
            if g is gv:  # already written in place (the backward pass writes into grad_storage())
                continue
            if g.shape != gv.shape:
                self._shape_error(i, p, gv.shape, g.shape)
            np.copyto(gv, g, casting="same_kind")
        if not missing and b.steps is None:
            return True
        active = [i for i, p in enumerate(b.params) if p.grad is not None]
        return active or None

    def _shape_error(self, i, p, shape, gshape):
        name = type(self).__name__
        if p.data.shape != shape:
            raise ValueError(f"{name}.step(): parameter {i} was bound with shape {shape} but its data now has "
                             f"shape {p.data.shape}; bind the optimizer to the parameters again")
        raise ValueError(f"{name}.step(): parameter {i} has shape {shape} but its gradient has shape {gshape}; "
                         f"a gradient must have its parameter's shape")

    def _clips(self):
        return self.clipvalue is not None or self.clipnorm is not None or self.global_clipnorm is not None

    def _clip(self, work):
        segs = []   # (1-D view of a g copy) for each gradient taking part
        for _, b, active in work:
            if active is True and self.clipnorm is None:
                segs.append(b.flats[0])
            else:
                segs.extend(b.ravels[i] for i in (range(len(b.params)) if active is True else active))
        if self.clipvalue is not None:
            c = self.clipvalue
            for s in segs:
                np.clip(s, -c, c, out=s)
        elif self.clipnorm is not None:
            c = self.clipnorm
            for s in segs:
                n = math.sqrt(float(np.dot(s, s)))
                if n > c:
                    s *= s.dtype.type(c / n)
        else:
            c = self.global_clipnorm
            n = math.sqrt(sum(float(np.dot(s, s)) for s in segs))
            if n > c:
                for s in segs:
                    s *= s.dtype.type(c / n)

    def _update(self, g, tmp, slots, lr, t, h):
        """Compute the step d (theta -= d) from the gradient copy ``g`` into ``tmp`` or a slot.

        ``slots`` are the state arrays named by ``_slot_names``, updated in
        place; ``t`` is the step number (1 for the first); ``h`` holds the
        hyperparameters.  Must not write ``g``.  Returns the array holding d.
        """
        raise NotImplementedError

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """A JSON-able dict: ``class_name`` and the hyperparameters (a schedule's config nested)."""
        cfg = {"class_name": type(self).__name__, "lr": _lr_config(self.defaults["lr"])}
        cfg.update({k: self.defaults[k] for k in self._hyper_names})
        cfg.update(clipvalue=self.clipvalue, clipnorm=self.clipnorm, global_clipnorm=self.global_clipnorm)
        return cfg

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Optimizer:
        """Build an (unbound) optimizer from :meth:`get_config`'s dict."""
        return from_config(config) if cls is Optimizer else _from_config(config, expected=cls)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly: config, iterations, per-parameter state, groups.

        Returns ``{'config': dict, 'iterations': int, 'state': [dict of ndarrays per parameter, in
        bound order], 'groups': [hyperparameters and parameter indices per group]}``; the arrays are
        copies.
        """
        self._require_bound("state_dict")
        state = []
        for b, i in self._where:
            if b.scales is None:
                entry = {name: b.views[i][2 + k].copy() for k, name in enumerate(self._slot_names)}
            else:  # in float64, where dividing by the factor is exact enough to come back bit for bit
                entry = {name: b.views[i][2 + k].astype(np.float64) / b.scales[k]
                         for k, name in enumerate(self._slot_names)}
            entry["step"] = np.asarray(b.t if b.steps is None else b.steps[i], dtype=np.int64)
            state.append(entry)
        index = {id(p): j for j, p in enumerate(self._params)}
        groups = []
        for g in self.param_groups:
            d = {k: (_lr_config(v) if k == "lr" else v) for k, v in g.items() if k != "params"}
            d["params"] = [index[id(p)] for p in g["params"]]
            groups.append(d)
        return {"config": self.get_config(), "iterations": int(self.iterations), "state": state,
                "groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (before binding: applied when bound)."""
        name = type(self).__name__
        cfg = state_dict.get("config", {})
        if cfg.get("class_name", name) != name:
            raise ValueError(f"{name}.load_state_dict: the state is of a {cfg.get('class_name')} optimizer")
        if not self._params:
            self._pending = state_dict
            return
        state = state_dict["state"]
        if len(state) != len(self._params):
            raise ValueError(f"{name}.load_state_dict: the state has {len(state)} parameters, the optimizer "
                             f"has {len(self._params)} bound")
        for j, ((b, i), entry) in enumerate(zip(self._where, state)):
            for k, sname in enumerate(self._slot_names):
                dst = b.views[i][2 + k]
                if sname not in entry:
                    raise ValueError(f"{name}.load_state_dict: the state of parameter {j} has no {sname!r} (it "
                                     f"holds {sorted(k for k in entry if k != 'step')}): it was saved by another "
                                     f"optimizer or another version of this one")
                src = np.asarray(entry[sname])
                if src.shape != dst.shape:
                    raise ValueError(f"{name}.load_state_dict: state {sname!r} of parameter {j} has shape "
                                     f"{src.shape}, the parameter has shape {dst.shape}")
        iterations = state_dict["iterations"]
        if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
            raise ValueError(f"{name}.load_state_dict: iterations must be an integer >= 0, got {iterations!r}")
        steps_saved = []
        for j, entry in enumerate(state):
            st = np.asarray(entry.get("step", iterations))
            if st.shape != () or st.dtype.kind not in "iu" or int(st) < 0:
                raise ValueError(f"{name}.load_state_dict: the step count of parameter {j} must be an integer "
                                 f">= 0, got {entry.get('step')!r}")
            steps_saved.append(int(st))
        # the hyperparameters, checked as the constructor checks them (a state from a file may hold anything)
        defaults, clips = dict(self.defaults), None
        if cfg:
            clips = {k: cfg.get(k) for k in ("clipvalue", "clipnorm", "global_clipnorm")}
            given = {k: v for k, v in clips.items() if v is not None}
            if len(given) > 1:
                raise ValueError(f"{name}.load_state_dict: at most one of clipvalue, clipnorm, global_clipnorm, "
                                 f"got {given}")
            for k, v in given.items():
                clips[k] = _in_range(name, k, v, lo=0.0, lo_open=True)
            defaults["lr"] = self._check_lr(_lr_from_config(cfg.get("lr", self.defaults["lr"])))
            defaults.update(self._validate({**{k: v for k, v in defaults.items() if k != "lr"},
                                            **{k: cfg[k] for k in self._hyper_names if k in cfg}}))
        groups = []
        for gi, (g, saved) in enumerate(zip(self.param_groups, state_dict.get("groups") or [])):
            if not isinstance(saved, dict):
                raise ValueError(f"{name}.load_state_dict: group {gi} must be a dict, got {saved!r}")
            unknown = set(saved) - {"params", "lr"} - set(self._hyper_names)
            if unknown:
                raise ValueError(f"{name}.load_state_dict: group {gi} has unknown keys {sorted(unknown)}")
            new = {k: v for k, v in g.items() if k != "params"}
            if "lr" in saved:
                new["lr"] = self._check_lr(_lr_from_config(saved["lr"]))
            new.update(self._validate({**{k: v for k, v in new.items() if k != "lr"},
                                       **{k: v for k, v in saved.items() if k not in ("params", "lr")}}))
            groups.append((g, new))
        # validated: now write
        if cfg:
            self.clipvalue, self.clipnorm, self.global_clipnorm = (clips["clipvalue"], clips["clipnorm"],
                                                                   clips["global_clipnorm"])
            self.defaults = defaults
        for g, new in groups:
            g.update(new)
        for group, buckets in zip(self.param_groups, self._buckets):
            for b in buckets:
                b.scales = self._slot_scales(group, b.flats[0].dtype)
        for (b, i), entry in zip(self._where, state):
            for k, sname in enumerate(self._slot_names):
                src = entry[sname]
                if b.scales is not None:
                    src = np.asarray(src, dtype=np.float64) * b.scales[k]
                np.copyto(b.views[i][2 + k], src)
        position = {id(p): j for j, p in enumerate(self._params)}
        for buckets in self._buckets:
            for b in buckets:
                steps = [steps_saved[position[id(p)]] for p in b.params]
                if steps and steps.count(steps[0]) == len(steps):
                    b.t, b.steps = steps[0], None
                else:
                    b.t, b.steps = 0, steps
        self.iterations = int(iterations)

    def __repr__(self):
        hyper = ", ".join(f"{k}={self.defaults[k]!r}" for k in ("lr", *self._hyper_names))
        clip = "".join(f", {k}={getattr(self, k)!r}" for k in ("clipvalue", "clipnorm", "global_clipnorm")
                       if getattr(self, k) is not None)
        bound = f", {len(self._params)} parameters bound" if self._params else ", unbound"
        return f"{type(self).__name__}({hyper}{clip}{bound})"


def _index(arrays, d):
    for k, a in enumerate(arrays):
        if a is d:
            return k
    raise RuntimeError("_update must return tmp or one of the state slots")


def _lr_from_config(lr):
    return _schedules.LearningRateSchedule.from_config(lr) if isinstance(lr, dict) else lr


def _from_config(config, expected=None):
    cfg = dict(config)
    name = cfg.pop("class_name", None)
    cls = _BY_CLASS.get(name)
    if cls is None:
        raise ValueError(f"from_config: unknown optimizer class {name!r}; expected one of {sorted(_BY_CLASS)}")
    if expected is not None and cls is not expected:
        raise ValueError(f"{expected.__name__}.from_config: the config is for {name}")
    if isinstance(cfg.get("lr"), dict):
        cfg["lr"] = _lr_from_config(cfg["lr"])
    return cls(**cfg)


def from_config(config: Mapping[str, Any]) -> Union[Optimizer, LearningRateSchedule]:
    """Rebuild an optimizer (unbound) or a learning-rate schedule from its ``get_config()`` dict.

    Examples
    --------
    >>> from chainrule.optim import Adam, ExponentialDecay
    >>> opt = from_config(Adam(lr=ExponentialDecay(0.1, 0.5, 10)).get_config())
    >>> opt.lr
    0.1
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"from_config: expected a dict with a 'class_name' key, got {config!r}")
    if config["class_name"] in _schedules._SCHEDULES:
        return _schedules.LearningRateSchedule.from_config(config)
    return _from_config(config)
