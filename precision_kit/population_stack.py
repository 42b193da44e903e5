"""S models of one architecture as one: the stacked parameters, the stacked forward and the
autograd-free step of a plain MLP (used by `population`).

A model can be stacked when it is an `nn.Sequential` of Flatten, Linear, ReLU, Sigmoid,
Conv2d, MaxPool2d and Dropout (every `mlp()` and the `cnn()`), convolutions before the
Flatten. Parameter k of all members is one tensor with a leading member axis. Linear layers
are batched products (`baddbmm`: each member's product is its own GEMM). Convolutions run
member by member on that member's slice of the stacked weights: one grouped convolution
(`groups=S`) was measured 2.3× slower per member than the plain one on the 2-core CPU
(oneDNN, batch 128: 19.1 s against 8.1 s per member-epoch), and the plain one is the
sequential engine's own kernel. Dropout draws each member's mask from that member's own
generator, with that member's own p.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .mlp_step import activation_backward_, mlp_layers

_aten = torch.ops.aten


def structure(model: nn.Module) -> tuple | None:
    """The shape-deciding signature of a stackable model, or None when it cannot be stacked.
    Models of equal signature can share a population (dropout p may differ)."""
    if not isinstance(model, nn.Sequential):
        return None
    sig: list[tuple] = []
    flattened = False
    for m in model:
        t = type(m)
        if t is nn.Linear and m.bias is not None:
            if not flattened:
                return None
            sig.append(("linear", m.in_features, m.out_features))
        elif (t is nn.Conv2d and m.bias is not None and m.groups == 1 and m.dilation == (1, 1)
              and m.padding_mode == "zeros" and not isinstance(m.padding, str) and not flattened):
            sig.append(("conv", m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding))
        elif t is nn.MaxPool2d and not m.return_indices and not flattened:
            sig.append(("pool", m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode))
        elif t is nn.Flatten and m.start_dim == 1 and m.end_dim == -1 and not flattened:
            flattened = True
            sig.append(("flatten",))
        elif t in (nn.ReLU, nn.Sigmoid):
            sig.append((t.__name__.lower(),))
        elif t is nn.Dropout and flattened:
            sig.append(("dropout",))
        else:
            return None
    return tuple(sig) if flattened else None


@dataclass
class Stack:
    """The population's parameters: weights[k] (S, *shape of layer k's weight), biases[k]
    (S, out). `plan` is the signature; `dropout[i]` the members' p of the i-th Dropout."""

    plan: tuple
    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    dropout: list[list[float]] = field(default_factory=list)
    plain_mlp: bool = False  # Flatten, then Linear and ReLU/Sigmoid only: the autograd-free step applies

    @property
    def params(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases, strict=True) for t in pair]

    @property
    def relu(self) -> list[bool]:
        """The activations between Linear layers of a plain MLP: True for ReLU."""
        return [step[0] == "relu" for step in self.plan if step[0] in ("relu", "sigmoid")]


def _layers(model: nn.Sequential) -> list[nn.Module]:
    return [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))]


def stack(models: list[nn.Module]) -> Stack:
    """Stack models of one signature (`structure`, checked by `population.train_population`);
    each parameter gets a persistent `.grad`."""
    plan = structure(models[0])
    layers = [_layers(m) for m in models]
    with torch.no_grad():
        weights = [torch.stack([ls[k].weight for ls in layers]).contiguous() for k in range(len(layers[0]))]
        biases = [torch.stack([ls[k].bias for ls in layers]).contiguous() for k in range(len(layers[0]))]
    for t in weights + biases:
        t.requires_grad_(True)
        t.grad = torch.zeros_like(t)
    dropout = [[float(d.p) for d in m if isinstance(d, nn.Dropout)] for m in models]
    dropout = [list(ps) for ps in zip(*dropout, strict=True)]
    plain = all(step[0] in ("flatten", "linear", "relu", "sigmoid") for step in plan)
    plain = plain and all(mlp_layers(m) is not None for m in models)
    return Stack(plan, weights, biases, dropout, plain)


def unstack(models: list[nn.Module], stacked: Stack) -> None:
    """Copy member j's parameters into `models[j]`."""
    with torch.no_grad():
        for j, model in enumerate(models):
            for k, layer in enumerate(_layers(model)):
                layer.weight.copy_(stacked.weights[k][j])
                layer.bias.copy_(stacked.biases[k][j])


def forward(stacked: Stack, x: torch.Tensor, generators=None) -> torch.Tensor:
    """The stacked logits (S, n, classes) of a stacked batch x (S, n, *sample shape), with
    autograd; dropout is applied when `generators` (one per member) are given."""
    size, n = x.shape[0], x.shape[1]
    convolved = stacked.plan[0][0] == "conv"
    # Before the Flatten of a CNN, `h` is a list of the members' (n, C, H, W) activations.
    h = list(x.unbind(0)) if convolved else x.reshape(size, n, -1)
    k = drop = 0
    for step in stacked.plan:
        kind = step[0]
        if kind == "conv":
            w, b = stacked.weights[k], stacked.biases[k]
            h = [F.conv2d(hj, w[j], b[j], step[4], step[5]) for j, hj in enumerate(h)]
            k += 1
        elif kind == "pool":
            h = [F.max_pool2d(hj, step[1], step[2], step[3], step[4], step[5]) for hj in h]
        elif kind == "flatten":
            if convolved:
                h = torch.stack([hj.reshape(n, -1) for hj in h])
                convolved = False
        elif kind == "linear":
            w, b = stacked.weights[k], stacked.biases[k]
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            k += 1
        elif kind in ("relu", "sigmoid"):
            act = torch.relu if kind == "relu" else torch.sigmoid
            h = [act(hj) for hj in h] if convolved else act(h)
        elif kind == "dropout":
            if generators is not None:
                h = _dropout(h, stacked.dropout[drop], generators)
            drop += 1
    return h


def _dropout(h: torch.Tensor, ps: list[float], generators) -> torch.Tensor:
    """Member j's units kept with probability 1 − p_j (its own generator), scaled by 1/(1 − p_j)."""
    if not any(ps):
        return h
    mask = torch.empty_like(h)
    for j, p in enumerate(ps):
        if p:
            mask[j].bernoulli_(1.0 - p, generator=generators[j]).div_(1.0 - p)
        else:
            mask[j].fill_(1.0)
    return h * mask


class ManualStep:
    """Forward, cross-entropy and backward of a stacked plain-MLP batch without autograd:
    the batched `mlp_step.MLPStep`. Every activation and gradient lives in a buffer made once."""

    def __init__(self, stacked: Stack, size: int, rows: int) -> None:
        self.s = stacked
        w = stacked.weights[0]
        like = {"dtype": w.dtype, "device": w.device}
        self.relu = stacked.relu
        self.outputs = [torch.empty(size, rows, t.shape[1], **like) for t in stacked.weights]
        self.input_grads = [torch.empty(size, rows, t.shape[2], **like) for t in stacked.weights[1:]]
        self.transposed = [t.detach().transpose(1, 2) for t in stacked.weights]
        self.weights = [t.detach() for t in stacked.weights]
        self.biases = [t.detach().unsqueeze(1) for t in stacked.biases]
        self.weight_grads = [t.grad for t in stacked.weights]
        self.bias_grads = [t.grad for t in stacked.biases]

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[1]
        outputs, input_grads = self.outputs, self.input_grads
        if n != outputs[0].shape[1]:  # the last, smaller batch of an epoch
            outputs = [b[:, :n] for b in outputs]
            input_grads = [b[:, :n] for b in input_grads]
        with torch.no_grad():
            inputs = [x]
            for k in range(len(self.weights)):
                h = torch.baddbmm(self.biases[k], inputs[-1], self.transposed[k], out=outputs[k])
                if k < len(self.relu):
                    h = h.relu_() if self.relu[k] else h.sigmoid_()
                inputs.append(h)
            logits = inputs.pop()
            logp = torch.log_softmax(logits, 2)
            loss = -logp.gather(2, y.unsqueeze(2)).squeeze(2).mean(1)
            grad = torch.zeros_like(logp).scatter_(2, y.unsqueeze(2), -1.0 / n)
            grad = _aten._log_softmax_backward_data(grad, logp, 2, logp.dtype)
            for k in reversed(range(len(self.weights))):
                torch.bmm(grad.transpose(1, 2), inputs[k], out=self.weight_grads[k])
                torch.sum(grad, 1, out=self.bias_grads[k])
                if k == 0:
                    break
                upstream = torch.bmm(grad, self.weights[k], out=input_grads[k - 1])
                grad = activation_backward_(upstream, inputs[k], self.relu[k - 1])
        return logits, loss
