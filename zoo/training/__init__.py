"""Training: recipes and the training loop (``train``), its callbacks, learning-rate schedules and losses,
sequence-level distillation (``distill``) and the arrays path for accelerators (``arrays``).

Modules are imported by name (``from zoo.training.train import train``); importing this package
imports none of them.
"""
