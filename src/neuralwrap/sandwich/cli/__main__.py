"""``python -m neuralwrap.sandwich.cli`` (what ``torchrun -m`` runs)."""

from neuralwrap.sandwich.cli.main import entry

entry()
