"""marshmallow schemas at the input edge: every body and query string passes through one.

Unknown fields are refused (marshmallow's default, RAISE). Text is stripped, must not be blank and
may not hold control characters (but tabs and line breaks) or noncharacters. Country codes are
checked against the registry's `countries` table, which the API hands in through `InputContext`.
Each schema's `post_load` returns the dataclass that the repository or the domain takes.
"""
