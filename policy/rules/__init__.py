"""The rules, one module per resource family; policy/catalogue.py names and describes each."""
