"""Flask-Security-Too's user datastore over parkapp's user and role tables."""

from flask_security import SQLAlchemyUserDatastore

from parkapp.extensions import db
from parkapp.models import Role, User

user_datastore = SQLAlchemyUserDatastore(db, User, Role)
