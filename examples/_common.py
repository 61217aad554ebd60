"""What the examples share: where the service is, and a progress line."""

from __future__ import annotations

import argparse
import os
import sys

from dashscope_video import Client, WaitProgress

MOCK_URL = "http://127.0.0.1:8000"


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--base-url",
        default=os.environ.get("DASHSCOPE_BASE_URL", MOCK_URL),
        help=f"the service (default: $DASHSCOPE_BASE_URL or the mock at {MOCK_URL})",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("DASHSCOPE_API_KEY", "sk-example"),
        help="API key (default: $DASHSCOPE_API_KEY; the mock accepts any sk-...)",
    )
    parser.add_argument("--out", default=None, help="where to save the MP4")
    parser.add_argument("--timeout", type=float, default=600, help="overall wait deadline in seconds")
    return parser.parse_args()


def client(args: argparse.Namespace) -> Client:
    return Client(args.api_key, base_url=args.base_url)


def progress(p: WaitProgress) -> None:
    note = f" (retrying: {type(p.error).__name__})" if p.error else ""
    print(f"  [{p.elapsed:6.1f} s] {p.status}{note}", file=sys.stderr)
