"""Blocks a higher app adds to the family's labs page (registered in its AppConfig.ready).

tracker may not import the apps above it; each registered function gets the child and its
current journey (or None) and returns (template name, context) or None. A block should cost
one query at most, whatever the number of its rows, so the labs page's count stays constant.
"""

LABS_BLOCKS = []


def register_labs_block(block):
    if block not in LABS_BLOCKS:
        LABS_BLOCKS.append(block)


def labs_blocks(child, journey):
    shown = (block(child, journey) for block in LABS_BLOCKS)
    return [{"template": b[0], "context": b[1]} for b in shown if b is not None]
