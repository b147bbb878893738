"""Rendering a trained scene: camera paths (paths.py), appearance schedules (appearance.py), frames and videos (frames.py)."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "AppearanceContext": "neuralwrap.rerender.render.appearance",
    "CameraSpline": "neuralwrap.rerender.render.paths",
    "PATH_KINDS": "neuralwrap.rerender.render.paths",
    "PointScene": "neuralwrap.rerender.render.frames",
    "RenderSource": "neuralwrap.rerender.render.frames",
    "SceneRenderer": "neuralwrap.rerender.render.frames",
    "appearance_context": "neuralwrap.rerender.render.frames",
    "appearance_schedule": "neuralwrap.rerender.render.appearance",
    "contact_sheet": "neuralwrap.rerender.render.frames",
    "estimate_splat_radius": "neuralwrap.rerender.render.frames",
    "interpolate_cameras": "neuralwrap.rerender.render.paths",
    "interpolate_codes": "neuralwrap.rerender.render.appearance",
    "is_bundle": "neuralwrap.rerender.render.frames",
    "load_bundle_source": "neuralwrap.rerender.render.frames",
    "load_point_scene": "neuralwrap.rerender.render.frames",
    "load_render_source": "neuralwrap.rerender.render.frames",
    "look_at_point": "neuralwrap.rerender.render.paths",
    "make_path": "neuralwrap.rerender.render.paths",
    "model_settings": "neuralwrap.rerender.render.frames",
    "orbit_path": "neuralwrap.rerender.render.paths",
    "order_keyframes": "neuralwrap.rerender.render.paths",
    "parse_code": "neuralwrap.rerender.render.appearance",
    "render_buffer": "neuralwrap.rerender.render.frames",
    "render_sequence": "neuralwrap.rerender.render.frames",
    "resolve_appearance": "neuralwrap.rerender.render.appearance",
    "resolve_name": "neuralwrap.rerender.render.paths",
    "scene_from_bundle": "neuralwrap.rerender.render.frames",
    "scene_up": "neuralwrap.rerender.render.paths",
    "static_path": "neuralwrap.rerender.render.paths",
    "write_frames": "neuralwrap.rerender.render.frames",
    "write_video": "neuralwrap.rerender.render.frames",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
