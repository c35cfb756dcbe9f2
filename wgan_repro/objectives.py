"""Losses as pure functions of per-sample critic outputs, plus weight clipping.

``critic_real`` and ``critic_fake`` are the critic's raw outputs, one number per sample:
for the standard GAN they are logits (D = sigmoid(logit)), for the WGAN they are f(x).
Every loss here is something to *minimise*; log-sigmoid forms keep them finite where
D saturates. Notation of the papers:

- GAN discriminator maximises  L(D, g) = E log D(x) + E log(1 - D(G(z)))
- GAN minimax generator minimises      E log(1 - D(G(z)))            (P1 "original cost")
- GAN non-saturating generator minimises  -E log D(G(z))              (P1 "-log D cost")
- WGAN critic maximises  E f(x) - E f(G(z)); the generator minimises -E f(G(z))
- WGAN-GP (Gulrajani et al. 2017, Algorithm 1) adds lambda * E (||grad f(x_hat)||_2 - 1)^2 to
  the critic's loss, per sample on x_hat = eps x + (1 - eps) x_tilde, eps ~ U[0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from wgan_repro.stats import is_warmup_iteration

LOG_2 = math.log(2.0)


# ---- standard GAN ------------------------------------------------------------------------
def gan_value(logit_real: Tensor, logit_fake: Tensor) -> Tensor:
    """L(D, g) = E log D(x) + E log(1 - D(G(z))); log(1 - sigmoid(a)) = logsigmoid(-a)."""
    return F.logsigmoid(logit_real).mean() + F.logsigmoid(-logit_fake).mean()


def gan_discriminator_loss(logit_real: Tensor, logit_fake: Tensor) -> Tensor:
    return -gan_value(logit_real, logit_fake)


def gan_minimax_generator_loss(logit_fake: Tensor) -> Tensor:
    """E log(1 - D(G(z))), the generator's cost in the original minimax game."""
    return F.logsigmoid(-logit_fake).mean()


def gan_nonsaturating_generator_loss(logit_fake: Tensor) -> Tensor:
    """-E log D(G(z)), the '-log D' alternative cost."""
    return -F.logsigmoid(logit_fake).mean()


def js_estimate(logit_real: Tensor, logit_fake: Tensor) -> Tensor:
    """1/2 L(D, g) + log 2, a lower bound on JS(P_r, P_g) (P2 Fig. 4); log 2 at most."""
    return 0.5 * gan_value(logit_real, logit_fake) + LOG_2


def discriminator_accuracy(logit_real: Tensor, logit_fake: Tensor) -> Tensor:
    """Share of samples on the right side of D = 1/2 (real above, fake below)."""
    correct = (logit_real > 0).sum() + (logit_fake < 0).sum()
    return correct.float() / (logit_real.numel() + logit_fake.numel())


# ---- WGAN ----------------------------------------------------------------------------------
def wasserstein_estimate(critic_real: Tensor, critic_fake: Tensor) -> Tensor:
    """E f(x) - E f(G(z)): the critic's estimate of W(P_r, P_g) (up to the Lipschitz constant)."""
    return critic_real.mean() - critic_fake.mean()


def wgan_critic_loss(critic_real: Tensor, critic_fake: Tensor) -> Tensor:
    return -wasserstein_estimate(critic_real, critic_fake)


def wgan_generator_loss(critic_fake: Tensor) -> Tensor:
    return -critic_fake.mean()


@torch.no_grad()
def clip_weights_(parameters: Iterable[Tensor], clip: float) -> None:
    """Clamp every parameter to [-clip, clip] in place (P2 Algorithm 1, after each update)."""
    params = [p for p in parameters]
    torch._foreach_clamp_min_(params, -clip)
    torch._foreach_clamp_max_(params, clip)


# ---- gradient penalty (WGAN-GP) -------------------------------------------------------------
def interpolates(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """x_hat = eps * real + (1 - eps) * fake, one eps per sample (``eps`` has shape (batch,))."""
    eps = eps.view(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    return eps * real + (1 - eps) * fake


def per_sample_norms(grad: Tensor) -> Tensor:
    """||g_i||_2 of each sample's gradient over all its non-batch dimensions (channels, height
    and width of an image together; the norm over dim 1 alone would be per pixel)."""
    return torch.linalg.vector_norm(grad.flatten(1), dim=1)


def gradient_penalty(grad: Tensor, weight: float) -> Tensor:
    """weight * E_i (||grad_i||_2 - 1)^2, ``grad`` holding d f(x_hat_i) / d x_hat_i per sample."""
    return weight * (per_sample_norms(grad.float()) - 1).square().mean()


def critic_input_gradients(critic: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """d f(x_i) / d x_i for every sample, kept in the graph (create_graph) so that a penalty on
    it can be differentiated with respect to the critic's weights."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).float().sum(), x, create_graph=True)
    return grad


# ---- instance noise (P1 section 3) ----------------------------------------------------------
def instance_noise_std(step: int, start: float, final: float, anneal_steps: int) -> float:
    """Noise level at ``step`` (0-based): linear from ``start`` to ``final`` over
    ``anneal_steps`` steps, then ``final``; ``anneal_steps = 0`` keeps ``start`` throughout."""
    if anneal_steps <= 0:
        return start
    return start + (final - start) * min(step / anneal_steps, 1.0)


def add_instance_noise(x: Tensor, std: float) -> Tensor:
    """x + N(0, std^2) per element (P1 section 3: noise on the discriminator's inputs, real and
    fake, so both distributions have full support). ``std = 0`` returns x and draws nothing,
    so runs without noise keep their random stream."""
    return x + std * torch.randn_like(x) if std > 0 else x


# ---- one place that maps a config to the functions above -----------------------------------
@dataclass(frozen=True)
class Objective:
    critic_loss: Callable[[Tensor, Tensor], Tensor]
    generator_loss: Callable[[Tensor], Tensor]
    is_wasserstein: bool
    clip: float | None
    n_critic: int
    warmup: bool
    warmup_critic_iters: int
    warmup_gen_iters: int
    warmup_every: int
    noise_std: float = 0.0
    noise_final_std: float = 0.0
    noise_anneal_steps: int = 0
    penalty_weight: float = 0.0  # WGAN-GP's lambda; 0 = no gradient penalty

    def instance_noise(self, step: int) -> float:
        """Standard deviation of the instance noise at ``step`` (0 = off)."""
        return instance_noise_std(step, self.noise_std, self.noise_final_std,
                                  self.noise_anneal_steps)

    def critic_iters(self, gen_iter: int) -> int:
        """Critic updates before generator update ``gen_iter`` (0-based).

        The reference code trains the critic ``warmup_critic_iters`` times for the first
        ``warmup_gen_iters`` generator iterations and at every ``warmup_every``-th one, so the
        critic is near optimal when the generator's gradient is taken from it.
        """
        warm = is_warmup_iteration(gen_iter, self.warmup, self.warmup_critic_iters,
                                   self.warmup_gen_iters, self.warmup_every)
        return self.warmup_critic_iters if warm else self.n_critic


GENERATOR_LOSSES = {
    "minimax": gan_minimax_generator_loss,
    "nonsaturating": gan_nonsaturating_generator_loss,
    "wasserstein": wgan_generator_loss,
}


def build_objective(cfg) -> Objective:
    wasserstein = cfg.loss == "wasserstein"
    return Objective(
        critic_loss=wgan_critic_loss if wasserstein else gan_discriminator_loss,
        generator_loss=GENERATOR_LOSSES[cfg.loss],
        is_wasserstein=wasserstein,
        clip=cfg.clip,
        n_critic=cfg.n_critic,
        warmup=cfg.warmup,
        warmup_critic_iters=cfg.warmup_critic_iters,
        warmup_gen_iters=cfg.warmup_gen_iters,
        warmup_every=cfg.warmup_every,
        noise_std=cfg.instance_noise_std,
        noise_final_std=cfg.instance_noise_final_std,
        noise_anneal_steps=cfg.instance_noise_anneal_iters,
        penalty_weight=cfg.gradient_penalty,
    )
