"""Sign-up, login, logout, password reset and the account page (Flask-Security-Too views, our forms)."""
