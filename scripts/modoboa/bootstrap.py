"""Helpers for setup.sh and start.sh, run with the Python of Modoboa's own virtualenv (standard library only,
plus Django and Modoboa for `credentials`).

    bootstrap.py credentials --instance DIR --connection FILE --port N
        (inside the instance) make sure the super administrator has the password recorded in FILE (a new
        random one the first time) and a DRF API token, and write FILE: url, token, admin username/password
    bootstrap.py port --connection FILE           print the port recorded in FILE
    bootstrap.py set-port --connection FILE N     record another port in FILE
    bootstrap.py wait --connection FILE SECONDS   wait until the API answers the token with 200
"""
import argparse
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ADMIN_USERNAME = "admin"
HOST = "127.0.0.1"


def read(connection):
    path = Path(connection)
    return json.loads(path.read_text()) if path.exists() else {}


def write(connection, data):
    path = Path(connection)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.chmod(tmp, 0o600)  # it holds the super administrator's password and token
    tmp.replace(path)


def credentials(args):
    sys.path.insert(0, args.instance)
    os.chdir(args.instance)
    os.environ["DJANGO_SETTINGS_MODULE"] = "instance.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    import modoboa

    data = read(args.connection)
    password = data.get("admin_password") or secrets.token_urlsafe(18)
    user = get_user_model().objects.get(username=ADMIN_USERNAME, is_superuser=True)
    if not user.check_password(password):
        user.set_password(password)
        user.save()
    token, _ = Token.objects.get_or_create(user=user)
    data.update(
        url=f"http://{HOST}:{args.port}",
        token=token.key,
        admin_username=ADMIN_USERNAME,
        admin_password=password,
        modoboa_version=modoboa.__version__,
        home=str(Path(args.connection).resolve().parent),
    )
    write(args.connection, data)


def port(args):
    print(urlsplit(read(args.connection)["url"]).port)


def set_port(args):
    data = read(args.connection)
    data["url"] = f"http://{HOST}:{args.port}"
    write(args.connection, data)


def wait(args):
    data = read(args.connection)
    request = urllib.request.Request(
        f"{data['url']}/api/v2/account/me/", headers={"Authorization": f"Token {data['token']}"}
    )
    deadline = time.monotonic() + args.seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code in (400, 401, 403):  # answering, but refusing: waiting longer will not help
                break
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    sys.exit(f"Modoboa at {data['url']} did not answer the API ({last}).")


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func in (("credentials", credentials), ("port", port), ("set-port", set_port), ("wait", wait)):
        sub = commands.add_parser(name)
        sub.set_defaults(func=func)
        sub.add_argument("--connection", required=True)
        if name == "credentials":
            sub.add_argument("--instance", required=True)
            sub.add_argument("--port", type=int, required=True)
        elif name == "set-port":
            sub.add_argument("port", type=int)
        elif name == "wait":
            sub.add_argument("seconds", type=float)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
