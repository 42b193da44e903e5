"""Population training: S plain MLPs of one shape trained as one stacked computation.

Members share the architecture, precision mode, device, batch size, epoch count, step cap,
evaluation schedule and optimizer; each keeps its own seed (initial weights built exactly as
for `train`, then stacked), its own data order (its seed's data generator), learning rate,
lr decay, momentum, clip mode and clip value, curves, divergence status, loss scale and
trained weights. Layer k of all members is one (S, out, in) tensor; a step is a handful of
batched matmuls (`baddbmm`/`bmm`) and one fused optimizer call per group of members with
equal hyperparameters, so S small models cost about what one S-times-wider model costs.

Members are independent: every op is either batched over the member axis (`bmm`: each
member's product is its own GEMM) or elementwise, so a member's result does not depend on
which other members share its population (tests/test_population.py checks this bit for
bit). Against the sequential `train` a member differs only in rounding: `baddbmm` and `bmm`
instead of `addmm` and `mm` may sum in another order (a few float32 ulps after one step);
the optimizer is the same fused kernel (`_fused_adam_`/`_fused_sgd_`) on the same numbers.

- Pure modes (fp64/fp32/fp16/bf16) run an autograd-free step (the batched form of
  `mlp_step.MLPStep`); amp modes run autograd over the stacked forward under autocast.
- amp-fp16 keeps one loss scale per member (GradScaler's rule: ×0.5 on an inf/NaN gradient,
  ×2 after 2000 clean steps): a member whose gradient overflows skips its own step only.
- A member whose loss turns non-finite is DIVERGED at that step (checked every
  `CHECK_EVERY` steps, as `train` does) and masked: it stops counting, the others go on.
- Per-epoch seconds of a member are its share of the population's wall time (÷ S).
- A population of one trains beside a copy of itself (dropped after): `bmm` of a single
  matrix takes another CPU kernel, and a seed must round the same alone or among others.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .data import Dataset
from .devices import resolve_device
from .errors import PrecisionKitError
from .evaluate import evaluate
from .mlp_step import mlp_layers
from .precision import autocast, cast_model, check_supported, flush_denormals, get_precision, matmul_mode
from .train import CHECK_EVERY, EpochRecord, TrainConfig, TrainResult, data_generator

# What every member of a population must share (the rest of a TrainConfig may differ).
SHARED_FIELDS = ("epochs", "batch_size", "optimizer", "precision", "device", "evaluation", "max_steps")
OPTIMIZERS = ("adam", "sgd", "sgd-momentum")
# torch.amp.GradScaler's defaults, per member.
INIT_SCALE, GROWTH, BACKOFF, GROWTH_INTERVAL = 2.0**16, 2.0, 0.5, 2000
_aten = torch.ops.aten


class PopulationError(PrecisionKitError, ValueError):
    """Members that cannot be trained as one population."""


def unsupported_reason(model: nn.Module, config: TrainConfig) -> str | None:
    """Why `model` under `config` cannot join a population, or None when it can."""
    if mlp_layers(model) is None:
        return "only plain MLPs (Linear and ReLU/Sigmoid layers) are stacked; this model trains sequentially"
    if config.optimizer not in OPTIMIZERS:
        return f"optimizer {config.optimizer!r} has no population step (stacked: {', '.join(OPTIMIZERS)})"
    return None


def population_key(config: TrainConfig) -> tuple:
    """Configs with equal keys can share a population."""
    return tuple(getattr(config, f) for f in SHARED_FIELDS)


@dataclass
class _Members:
    """The stacked parameters, gradients and optimizer state of a population."""

    weights: list[torch.Tensor]  # (S, out, in) per layer
    biases: list[torch.Tensor]  # (S, out)
    relu: list[bool]

    @property
    def params(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases, strict=True) for t in pair]


def train_population(
    models: Sequence[nn.Module], data: Dataset, configs: Sequence[TrainConfig]
) -> list[TrainResult]:
    """Train each `models[i]` under `configs[i]` as one population; one `TrainResult` each.

    The models are plain MLPs of one shape built in float32 on the CPU (as for `train`);
    they are cast and moved in place, and after training each holds its own trained
    weights. `configs` must agree on `SHARED_FIELDS`. Raises `PopulationError` otherwise.
    """
    models, configs = list(models), list(configs)
    if not models or len(models) != len(configs):
        raise PopulationError(f"expected one config per model and at least one model; found {len(models)} "
                              f"models and {len(configs)} configs")
    keys = {population_key(c) for c in configs}
    if len(keys) != 1:
        raise PopulationError(f"members of a population must share {', '.join(SHARED_FIELDS)}; found {sorted(keys)}")
    for m, c in zip(models, configs, strict=True):
        reason = unsupported_reason(m, c)
        if reason:
            raise PopulationError(reason)
    real = len(models)
    if real == 1:
        # A batched product of one matrix takes another CPU kernel than two or more (for
        # small shapes), so a lone member would round differently from the same seed in a
        # population: it trains beside a copy of itself, which is then dropped.
        models.append(copy.deepcopy(models[0]))
        configs.append(configs[0])
    shared = configs[0]
    device = resolve_device(shared.device)
    mode = check_supported(shared.precision, device)
    if data.device != device:
        data = data.to(device)
    for m in models:
        cast_model(m, mode, device)
        m.train()
    members = _stack(models)
    images = data.train.images.to(mode.param_dtype)
    flat = images.reshape(len(images), -1)
    labels = data.train.labels
    n, size, rows = len(labels), len(models), min(shared.batch_size, len(labels))
    state = _Optimizer(members, configs, mode, device)
    step_fn = _ManualStep(members, size, rows) if not mode.is_amp else None
    batch_buffer = torch.empty((size * rows, flat.shape[1]), dtype=flat.dtype, device=device)
    orders = [data_generator(c.seed) for c in configs]
    steps_per_epoch = -(-n // shared.batch_size)
    records: list[list[EpochRecord]] = [[] for _ in models]
    diverged_at: list[int | None] = [None] * size
    steps_done = [0] * size
    step = 0
    with flush_denormals(), matmul_mode(mode, device):
        for epoch in range(shared.epochs):
            perm = torch.stack([torch.randperm(n, generator=g) for g in orders]).to(device)
            losses = torch.zeros((steps_per_epoch, size), dtype=torch.float32, device=device)
            correct = torch.zeros(size, dtype=torch.int64, device=device)
            _sync(device)
            start = time.perf_counter()
            alive_at_start = [d is None for d in diverged_at]
            done_rows = 0
            for i in range(steps_per_epoch):
                idx = perm[:, i * shared.batch_size : (i + 1) * shared.batch_size]
                b = idx.shape[1]
                x = torch.index_select(flat, 0, idx.reshape(-1), out=batch_buffer[: size * b]).view(size, b, -1)
                y = labels[idx]
                if step_fn is not None:
                    logits, loss = step_fn(x, y)
                else:
                    logits, loss = _autograd_step(members, x, y, mode, device, state.scale)
                state.step()
                losses[i] = loss.detach().float()
                correct += (logits.detach().argmax(2) == y).sum(1)
                step += 1
                done_rows += b
                last = i + 1 == steps_per_epoch or step == shared.max_steps
                if (i + 1) % CHECK_EVERY == 0 or last:
                    _check(losses[: i + 1], step - (i + 1), diverged_at, steps_done, step)
                    if all(d is not None for d in diverged_at):
                        break
                if last:
                    break
            _sync(device)
            share = (time.perf_counter() - start) / real
            state.end_epoch()
            sizes = torch.tensor([len(r) for r in perm[0, : done_rows].split(shared.batch_size)],
                                 dtype=torch.float32, device=device)
            train_loss = ((losses[: i + 1] * sizes[:, None]).sum(0) / done_rows).tolist()
            train_acc = (100.0 * correct.double() / done_rows).tolist()
            final = epoch + 1 == shared.epochs or step == shared.max_steps
            evaluate_now = shared.evaluation == "epoch" or (shared.evaluation == "final" and final)
            if evaluate_now:
                _unstack(models, members)
            for j, model in enumerate(models):
                if not alive_at_start[j] or diverged_at[j] is not None:
                    continue
                record = EpochRecord(epoch=epoch + 1, train_loss=train_loss[j], train_accuracy=train_acc[j],
                                     seconds=share)
                if evaluate_now:
                    ev = evaluate(model, data, "test", mode)
                    record = dataclasses.replace(record, test_loss=ev.loss, test_accuracy=ev.accuracy)
                records[j].append(record)
            if step == shared.max_steps or all(d is not None for d in diverged_at):
                break
    for j in range(size):
        if diverged_at[j] is None:
            steps_done[j] = step
    _unstack(models, members)
    skipped = state.skipped.tolist()
    return [
        TrainResult(config=c, epochs=tuple(records[j]), steps=steps_done[j], skipped_steps=int(skipped[j]),
                    peak_memory_bytes=None, diverged_at_step=diverged_at[j], model=models[j])
        for j, c in enumerate(configs)
    ][:real]


def _check(losses: torch.Tensor, first_step: int, diverged_at: list, steps_done: list, step: int) -> None:
    """Mark members whose loss went non-finite since the epoch began (one host sync)."""
    bad = ~torch.isfinite(losses)
    if not bool(bad.any()):
        return
    first = bad.int().argmax(0).tolist()
    any_bad = bad.any(0).tolist()
    for j, hit in enumerate(any_bad):
        if hit and diverged_at[j] is None:
            diverged_at[j] = first_step + first[j] + 1
            steps_done[j] = step


def _stack(models: list[nn.Module]) -> _Members:
    parsed = [mlp_layers(m) for m in models]
    shapes = {tuple(tuple(layer.weight.shape) for layer in p[0]) for p in parsed}
    kinds = {tuple(type(a) for a in p[1]) for p in parsed}
    if len(shapes) != 1 or len(kinds) != 1:
        raise PopulationError(f"members must share one architecture; found layer shapes {sorted(shapes)}")
    linears = [p[0] for p in parsed]
    with torch.no_grad():
        weights = [torch.stack([ls[k].weight for ls in linears]).contiguous() for k in range(len(linears[0]))]
        biases = [torch.stack([ls[k].bias for ls in linears]).contiguous() for k in range(len(linears[0]))]
    relu = [isinstance(a, nn.ReLU) for a in parsed[0][1]]
    for t in weights + biases:
        t.requires_grad_(True)
        t.grad = torch.zeros_like(t)
    return _Members(weights, biases, relu)


def _unstack(models: list[nn.Module], members: _Members) -> None:
    with torch.no_grad():
        for j, model in enumerate(models):
            linears, _ = mlp_layers(model)
            for k, layer in enumerate(linears):
                layer.weight.copy_(members.weights[k][j])
                layer.bias.copy_(members.biases[k][j])


def forward(members: _Members, x: torch.Tensor) -> torch.Tensor:
    """The stacked logits (S, n, 10) of a stacked batch x (S, n, in), with autograd."""
    h = x
    for k, (w, b) in enumerate(zip(members.weights, members.biases, strict=True)):
        h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
        if k < len(members.relu):
            h = torch.relu(h) if members.relu[k] else torch.sigmoid(h)
    return h


def _member_losses(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each member's batch: shape (S,)."""
    size, b, classes = logits.shape
    return F.cross_entropy(logits.reshape(size * b, classes), y.reshape(-1), reduction="none").view(size, b).mean(1)


def _autograd_step(members, x, y, mode, device, scale):
    """Forward and backward through autograd (amp modes); gradients land in `.grad`."""
    torch._foreach_zero_([t.grad for t in members.params])  # backward adds into them in place
    with autocast(mode, device):
        logits = forward(members, x)
        loss = _member_losses(logits, y)
    total = loss.float().sum() if scale is None else (loss.float() * scale).sum()
    total.backward()
    return logits, loss


class _ManualStep:
    """Forward, cross-entropy and backward of a stacked batch without autograd: the batched
    `MLPStep`. Every activation and gradient lives in a buffer made once."""

    def __init__(self, members: _Members, size: int, rows: int) -> None:
        self.m = members
        w = members.weights[0]
        like = {"dtype": w.dtype, "device": w.device}
        self.outputs = [torch.empty(size, rows, t.shape[1], **like) for t in members.weights]
        self.input_grads = [torch.empty(size, rows, t.shape[2], **like) for t in members.weights[1:]]
        self.transposed = [t.detach().transpose(1, 2) for t in members.weights]
        self.weights = [t.detach() for t in members.weights]
        self.biases = [t.detach().unsqueeze(1) for t in members.biases]

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[1]
        outputs, input_grads = self.outputs, self.input_grads
        if n != outputs[0].shape[1]:  # the last, smaller batch of an epoch
            outputs = [b[:, :n] for b in outputs]
            input_grads = [b[:, :n] for b in input_grads]
        m = self.m
        with torch.no_grad():
            inputs = [x]
            for k in range(len(self.weights)):
                h = torch.baddbmm(self.biases[k], inputs[-1], self.transposed[k], out=outputs[k])
                if k < len(m.relu):
                    h = h.relu_() if m.relu[k] else h.sigmoid_()
                inputs.append(h)
            logits = inputs.pop()
            logp = torch.log_softmax(logits, 2)
            loss = -logp.gather(2, y.unsqueeze(2)).squeeze(2).mean(1)
            grad = torch.zeros_like(logp).scatter_(2, y.unsqueeze(2), -1.0 / n)
            grad = _aten._log_softmax_backward_data(grad, logp, 2, logp.dtype)
            for k in reversed(range(len(self.weights))):
                torch.bmm(grad.transpose(1, 2), inputs[k], out=m.weights[k].grad)
                torch.sum(grad, 1, out=m.biases[k].grad)
                if k == 0:
                    break
                upstream = torch.bmm(grad, self.weights[k], out=input_grads[k - 1])
                if m.relu[k - 1]:
                    _aten.threshold_backward.grad_input(upstream, inputs[k], 0, grad_input=upstream)
                else:
                    _aten.sigmoid_backward.grad_input(upstream, inputs[k], grad_input=upstream)
                grad = upstream
        return logits, loss


class _Optimizer:
    """Per-member loss scaling, clipping and one fused optimizer call per group of members
    with equal hyperparameters (the kernels are elementwise, so a member's update is the
    one `torch.optim` would make on it alone).

    The fused kernels get per-member views even when one group holds every member: the CPU
    kernel's vector loop and scalar tail follow each tensor's length, so a member's update
    is bit-identical to the one torch.optim makes on that model alone. The views are made
    once (S × 6 selects per step cost as much as the kernel at batch 1)."""

    def __init__(self, members: _Members, configs: list[TrainConfig], mode, device: torch.device) -> None:
        self.m = members
        self.configs = configs
        self.size = len(configs)
        self.kind = configs[0].optimizer
        self.eps = get_precision(mode).adam_eps
        self.lrs = [float(c.lr) for c in configs]
        self.device = device
        params = members.params
        if self.kind == "adam":
            self.state = [[torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]]
        elif self.kind == "sgd-momentum":
            self.state = [[torch.zeros_like(p) for p in params]]
        else:
            self.state = []
        # Float32 step counters: one per member under loss scaling (a member's skipped steps
        # do not count), else steps[0] serves all.
        self.steps = [torch.zeros((), dtype=torch.float32, device=device) for _ in configs]
        self.first_step = True
        self.skipped = torch.zeros(self.size, dtype=torch.int64, device=device)
        self.scale = self.found = None
        if mode.grad_scaler:
            self.scale = torch.full((self.size,), INIT_SCALE, dtype=torch.float32, device=device)
            self.growth_tracker = torch.zeros(self.size, dtype=torch.int32, device=device)
            self.found = torch.zeros(self.size, dtype=torch.float32, device=device)
        self.clip_norm = self._per_member(lambda c: c.clip_value if c.clip == "norm" else float("inf"))
        self.clip_value = self._per_member(lambda c: c.clip_value if c.clip == "value" else float("inf"))
        self.clips = {c.clip for c in configs} - {"none"}
        self._grads: list[torch.Tensor] = []
        self._views()

    def _per_member(self, value) -> torch.Tensor:
        return torch.tensor([float(value(c)) for c in self.configs], dtype=torch.float32, device=self.device)

    def _views(self) -> None:
        """Member j's views of params, grads and optimizer state, and the groups of members
        with equal (lr, momentum): (members, lr, momentum, params, grads, state, steps)."""
        self._grads = [p.grad for p in self.m.params]
        params = [p.detach() for p in self.m.params]  # views of the storage, outside autograd
        member = [
            ([p[j] for p in params], [g[j] for g in self._grads], [[s[j] for s in st] for st in self.state])
            for j in range(self.size)
        ]
        self.member_views = member
        by: dict[tuple, list[int]] = {}
        for j, c in enumerate(self.configs):
            by.setdefault((self.lrs[j], c.momentum), []).append(j)
        self.groups = []
        for (lr, momentum), js in by.items():
            params = [t for j in js for t in member[j][0]]
            grads = [t for j in js for t in member[j][1]]
            state = [[t for j in js for t in member[j][2][k]] for k in range(len(self.state))]
            self.groups.append((tuple(js), lr, momentum, params, grads, state, [self.steps[0]] * len(params)))

    def end_epoch(self) -> None:
        """lr decay per member, computed as ExponentialLR does (lr ← lr · gamma)."""
        changed = False
        for j, c in enumerate(self.configs):
            if c.lr_decay is not None:
                self.lrs[j] = self.lrs[j] * c.lr_decay
                changed = True
        if changed:
            self._views()

    @torch.no_grad()
    def step(self) -> None:
        if any(p.grad is not g for p, g in zip(self.m.params, self._grads, strict=True)):
            self._views()  # autograd made new .grad tensors
        grads = self._grads
        if self.scale is not None:
            self._unscale(grads)
        if self.clips:
            self._clip(grads)
        if self.found is not None:  # a member whose gradient overflowed does not count the step
            for j in range(self.size):
                self.steps[j].add_(1.0 - self.found[j])
            for members, lr, momentum, *_ in self.groups:
                for j in members:
                    params, grads_j, state = self.member_views[j]
                    self._fused(params, grads_j, state, [self.steps[j]] * len(params), lr, momentum, self.found[j])
            for j in range(self.size):
                _aten._amp_update_scale_(self.scale[j], self.growth_tracker[j], self.found[j],
                                         GROWTH, BACKOFF, GROWTH_INTERVAL)
            self.skipped += (self.found > 0).to(self.skipped.dtype)
        else:  # pure modes: one counter serves every member
            self.steps[0].add_(1.0)  # before the kernel, as torch.optim.Adam counts
            for _, lr, momentum, params, grads_g, state, steps in self.groups:
                self._fused(params, grads_g, state, steps, lr, momentum, None)
        self.first_step = False

    def _fused(self, params, grads, state, steps, lr, momentum, found_inf) -> None:
        """One fused optimizer call over per-member views."""
        if self.kind == "adam":
            torch._fused_adam_(params, grads, state[0], state[1], [], steps, lr=lr, beta1=0.9, beta2=0.999,
                               weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False,
                               grad_scale=None, found_inf=found_inf)
        else:
            mom = momentum if self.kind == "sgd-momentum" else 0.0
            torch._fused_sgd_(params, grads, state[0] if mom else [], weight_decay=0.0, momentum=mom, lr=lr,
                              dampening=0.0, nesterov=False, maximize=False,
                              is_first_step=self.first_step and bool(mom), grad_scale=None, found_inf=found_inf)

    def _unscale(self, grads: list[torch.Tensor]) -> None:
        """Divide member j's gradients by its scale; found[j] = 1.0 where any is inf/NaN."""
        self.found.zero_()
        inv = self.scale.double().reciprocal().float()
        for j in range(self.size):
            _aten._amp_foreach_non_finite_check_and_unscale_(self.member_views[j][1], self.found[j], inv[j])

    def _clip(self, grads: list[torch.Tensor]) -> None:
        """Per-member clip_grad_norm_ / clip_grad_value_ (∞ for members that do not clip)."""
        shape = lambda g: (self.size,) + (1,) * (g.dim() - 1)  # noqa: E731
        if "norm" in self.clips:
            norms = torch.stack([g.reshape(self.size, -1).float().norm(dim=1) for g in grads]).norm(dim=0)
            coef = (self.clip_norm / (norms + 1e-6)).clamp(max=1.0)
            for g in grads:
                g.mul_(coef.view(shape(g)).to(g.dtype))
        if "value" in self.clips:
            for g in grads:
                v = self.clip_value.view(shape(g)).to(g.dtype)
                torch.clamp(g, -v, v, out=g)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


__all__ = ["SHARED_FIELDS", "PopulationError", "population_key", "train_population", "unsupported_reason"]
