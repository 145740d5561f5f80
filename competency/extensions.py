"""The Flask extensions, created unbound and initialised in the application factory."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from competency.models.base import Base

# Objects stay loaded after a commit, for the whole app: services commit and the views then render what
# they committed (an attempt started, a form saved, the logged-in user in every template), which would
# otherwise reload each object with a query of its own. A request's session lives for that request
# only, so what it keeps is never older than the request. Answering (services/answering) does not rely
# on it: it builds its reply before the COMMIT.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
