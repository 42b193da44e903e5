"""The optimizer step of a population: per-member loss scaling (amp-fp16), gradient clipping,
and one fused optimizer call per group of members with equal hyperparameters (used by
`population`). Adam and SGD run PyTorch's fused kernels, RMSprop the foreach ops that
`torch.optim.RMSprop(foreach=True)` runs, all on per-member views: a member's update is the
one `torch.optim` makes on that model alone."""

from __future__ import annotations

import torch

from .population_stack import Stack
from .train_types import TrainConfig, adam_eps

# torch.amp.GradScaler's defaults, per member.
INIT_SCALE, GROWTH, BACKOFF, GROWTH_INTERVAL = 2.0**16, 2.0, 0.5, 2000
RMSPROP_ALPHA = 0.99  # torch.optim.RMSprop's default, as train.make_optimizer uses it
_aten = torch.ops.aten


class PopulationOptimizer:
    """Per-member loss scaling, clipping and one fused optimizer call per group of members
    with equal hyperparameters (the kernels are elementwise, so a member's update is the
    one `torch.optim` would make on it alone).

    The fused kernels get per-member views even when one group holds every member: the CPU
    kernel's vector loop and scalar tail follow each tensor's length, so a member's update
    is bit-identical to the one torch.optim makes on that model alone. The views are made
    once (S × 6 selects per step cost as much as the kernel at batch 1)."""

    def __init__(self, members: Stack, configs: list[TrainConfig], mode, device: torch.device) -> None:
        self.m = members
        self.configs = configs
        self.size = len(configs)
        self.kind = configs[0].optimizer
        self.eps = adam_eps(configs[0])  # a population shares it (population.SHARED_FIELDS)
        self.lrs = [float(c.lr) for c in configs]
        self.device = device
        params = members.params
        if self.kind == "adam":
            self.state = [[torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]]
        elif self.kind in ("sgd-momentum", "rmsprop"):  # momentum buffer / square average
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
            self._unscale()
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
        elif self.kind == "rmsprop":
            if found_inf is not None and bool(found_inf):  # no fused kernel: skip on the host
                return
            # torch.optim.RMSprop(foreach=True), no momentum, not centered
            torch._foreach_mul_(state[0], RMSPROP_ALPHA)
            torch._foreach_addcmul_(state[0], grads, grads, value=1 - RMSPROP_ALPHA)
            avg = torch._foreach_sqrt(state[0])
            torch._foreach_add_(avg, self.eps)
            torch._foreach_addcdiv_(params, grads, avg, value=-lr)
        else:
            mom = momentum if self.kind == "sgd-momentum" else 0.0
            torch._fused_sgd_(params, grads, state[0] if mom else [], weight_decay=0.0, momentum=mom, lr=lr,
                              dampening=0.0, nesterov=False, maximize=False,
                              is_first_step=self.first_step and bool(mom), grad_scale=None, found_inf=found_inf)

    def _unscale(self) -> None:
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
