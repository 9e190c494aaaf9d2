"""What the user does to a shoot, without widgets: culling, the explanation and its overlay,
crops and exports. Each controller acts on the Session and says what changed through signals
carrying plain values; the window binds widgets to them (gui/bindings.py) and tests drive them
directly."""

from .crop import CropController, CropView
from .culling import CullingController
from .explanation import Explanation, ExplanationController, OverlayView
from .teaching import MapsController, MapsView, ReportController, WhatIfController, WhatIfView

__all__ = ["CropController", "CropView", "CullingController", "Explanation",
           "ExplanationController", "MapsController", "MapsView", "OverlayView", "ReportController",
           "WhatIfController", "WhatIfView"]
