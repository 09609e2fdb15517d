"""``nova-ws image create|list``: the image catalog, from the command line.

The fake driver needs no image bits, so an image is its catalog entry:
name, formats, minimum RAM and disk, visibility and properties (for
example ``architecture`` or ``hypervisor_type``, which the scheduler's
image-properties filter reads).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nova_ws.config import ConfigError, load_config


def add_parser(commands: Any) -> None:
    """Add ``image create`` and ``image list`` to the ``nova-ws`` parser."""
    image = commands.add_parser("image", help="image catalog tools")
    image_commands = image.add_subparsers(dest="image_command", required=True)
    create = image_commands.add_parser("create", help="register an image in the catalog")
    create.add_argument("name")
    create.add_argument("--config", default=None, help="path to nova.conf")
    create.add_argument("--disk-format", default="qcow2")
    create.add_argument("--container-format", default="bare")
    create.add_argument("--min-ram", type=int, default=0)
    create.add_argument("--min-disk", type=int, default=0)
    create.add_argument("--visibility", default="public",
                        choices=("public", "private", "shared", "community"))
    create.add_argument("--property", action="append", default=[], metavar="KEY=VALUE")
    create.set_defaults(run=run)
    listing = image_commands.add_parser("list", help="list the catalog")
    listing.add_argument("--config", default=None, help="path to nova.conf")
    listing.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run an ``image`` subcommand; 0 on success, 1 with a message on error."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from nova_ws.db.engine import create_engine_from_config
    from nova_ws.db.queries import images

    try:
        config = load_config(args.config)
        properties = dict(_pair(p) for p in getattr(args, "property", []))
    except (ConfigError, ValueError) as e:
        print(f"nova-ws image: {e}", file=sys.stderr)
        return 1
    engine = create_engine_from_config(config.database, state_path=config.default.state_path)
    try:
        with Session(engine) as session, session.begin():
            if args.image_command == "create":
                image = images.create_image(
                    session, name=args.name, disk_format=args.disk_format,
                    container_format=args.container_format, min_ram=args.min_ram,
                    min_disk=args.min_disk, visibility=args.visibility, properties=properties)
                print(image.uuid)
            else:
                for image in images.list_images(session):
                    print(f"{image.uuid}  {image.name or '-'}  {image.status}  "
                          f"{image.visibility}")
    except (SQLAlchemyError, ValueError) as e:
        print(f"nova-ws image {args.image_command}: {getattr(e, 'orig', None) or e}",
              file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--property wants KEY=VALUE, not {text!r}")
    return key, value
