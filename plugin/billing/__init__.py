"""Plans and their customer limits: the shop's plan from the platform's billing, and the
pause of tag pushes and trigger firings while a shop has more customers than it pays for."""
