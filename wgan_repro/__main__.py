from wgan_repro.cli import main

main()
