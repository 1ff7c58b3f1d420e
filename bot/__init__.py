"""二七帮·易企办: the bot, its CLI and (later) its channels."""
