"""Self-contained HTML reports of run folders, and the headless browser that screenshots them."""
