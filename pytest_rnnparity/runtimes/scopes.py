"""Which Keras layer (and direction) a converted tensor or op belongs to, from its name.

Both converters keep TensorFlow's name scopes: ``sequential_1/gru_1/gru_cell_3/Sigmoid``
(TFLite joins fused names with ``;``, tf2onnx adds ``:0``). Keras 3 enters each layer's
scope as ``<layer name>_<n>``; a ``Bidirectional`` runs its directions under
``forward_<name>_<n>`` and ``backward_<name>_<n>``. A name belongs to a layer when
one path component is that layer's scope; names that match no layer, or several,
are left unassigned rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from pytest_rnnparity.runtimes.manifest import DirectionName, ModelManifest


@dataclass(frozen=True)
class Place:
    """A layer of the manifest, and the direction when the name says which."""

    layer: str
    direction: DirectionName | None


@dataclass(frozen=True)
class Scopes:
    """Resolves names against the layers of one manifest."""

    manifest: ModelManifest

    def _pattern(self, name: str) -> re.Pattern[str]:
        suffix = r"_\d+" if self.manifest.scope_suffix else r"(?:_\d+)?"
        return re.compile(re.escape(name) + suffix)

    @cached_property
    def _layers(self) -> list[tuple[re.Pattern[str], str]]:
        return [(self._pattern(layer.name), layer.name) for layer in self.manifest.layers]

    @cached_property
    def _directions(self) -> list[tuple[re.Pattern[str], str, DirectionName]]:
        found = []
        for layer in self.manifest.layers:
            if len(layer.directions) < 2:
                continue
            for info in layer.directions:
                found.append((self._pattern(info.scope), layer.name, info.direction))
        return found

    def resolve(self, name: str) -> Place | None:
        """The layer (and direction) ``name`` is scoped under, or None."""
        components = name.split(";")[0].split(":")[0].split("/")
        layers = {
            layer for c in components for pattern, layer in self._layers if pattern.fullmatch(c)
        }
        directions = {
            (layer, direction)
            for c in components
            for pattern, layer, direction in self._directions
            if pattern.fullmatch(c)
        }
        if len(directions) == 1:
            layer, direction = next(iter(directions))
            if layers <= {layer}:
                return Place(layer, direction)
            return None
        if len(directions) > 1 or len(layers) != 1:
            return None
        layer = next(iter(layers))
        info = self.manifest.layer(layer)
        return Place(layer, "forward" if len(info.directions) == 1 else None)

    def resolve_all(self, names: Iterable[str]) -> Place | None:
        """The one place all resolvable ``names`` agree on (None if none or several)."""
        places = {place for place in map(self.resolve, names) if place is not None}
        with_direction = {p for p in places if p.direction is not None}
        if len(with_direction) == 1:
            place = next(iter(with_direction))
            if all(p.layer == place.layer for p in places):
                return place
            return None
        if len(places) == 1:
            return next(iter(places))
        return None
