"""What the tests share: the chatting user, the fake Bot API (in process and over HTTP),
updates as Telegram sends them, the bot as a process, the outbox driven by hand, and the
steps many tests take (enrol a companion, report a visit, file a complaint). Tests import
from here, never from each other."""
