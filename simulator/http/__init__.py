"""The thin HTTP skin: routes parse, call a service, render."""
