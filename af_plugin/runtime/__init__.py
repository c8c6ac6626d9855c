"""The real-time engine: a 25 fps clock, inputs, batched generation on a worker thread, paced playout.

``app.build_app(cfg)`` + ``app.run_app(app)`` is the whole runtime as ``af run`` uses it; ``engine.Engine``
is the clock, ``session.AvatarSession`` one avatar, ``sources``/``video`` the inputs. See docs/runtime.md.
"""
