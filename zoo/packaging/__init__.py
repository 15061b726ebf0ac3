"""Packaging pretrained folders from existing ones: model cards (``card``), ensembles (``ensemble``),
weight averages (``averaging``) and float16 storage (``compression``). Each evaluates what it writes.

Modules are imported by name (``from zoo.packaging.averaging import package_average``); importing
this package imports none of them.
"""
