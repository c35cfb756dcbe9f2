"""wgan-repro: re-run the figures of the two Wasserstein-GAN papers and check their claims."""

__version__ = "0.1.0"
