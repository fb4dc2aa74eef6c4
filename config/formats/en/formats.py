from config.formats.shared import *  # noqa: F403
