"""An installed wheel finds its config tree without the source checkout."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # builds the wheel
def test_wheel_ships_the_config_tree(tmp_path):
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheel_dir), str(ROOT)], capture_output=True, text=True, timeout=300)
    if build.returncode != 0:
        pytest.fail(f"wheel build failed: {build.stderr[-2000:]}")
    (wheel,) = wheel_dir.glob("wgan_repro-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, timeout=300)
    assert (target / "wgan_repro" / "conf" / "config.yaml").is_file()
    assert (target / "wgan_repro" / "conf" / "scale" / "cpu.yaml").is_file()
    probe = ("from wgan_repro import hydra_runner as h; c = h.compose(['scale=smoke']); "
             "print(h.conf_dir()); print(c.tier, c.optim.lr)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    conf_dir, values = proc.stdout.strip().splitlines()
    assert Path(conf_dir) == target / "wgan_repro" / "conf"
    assert values == "smoke 5e-05"
