"""Reception's calendar and booking pages, and the doctor's day, a module per page
family. Views parse input, call one service or selector, and render; the rules live
in services.py."""
