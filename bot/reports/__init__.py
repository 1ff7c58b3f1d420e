"""Reports for the 12345 centre and the district's leaders, built on `bot.indicators`.

Trends of the rates over weeks or months (`trend`, drawn by `svg`), the 好差评 distribution
(`satisfaction`), the most frequent issues grouped by similarity (`hotspots`, 每月一题), CSV and
XLSX exports that open cleanly in Excel and WPS (`export`), and the leaders' weekly summary
(`weekly`). Every module is pure — orders and events in, values out — so the CLI, the web pages and
the scheduler can share them and tests need no database unless they want one.
"""
