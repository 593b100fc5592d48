"""One router per source of requests. The CRMs' routers are listed in contracts/crms.py; the
others (generic deals, product events, Segment, unsubscribe links, health) in starters/app.py."""
