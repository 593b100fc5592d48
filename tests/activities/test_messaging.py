"""send_message over a real SMTP server and a loopback server speaking Slack's incoming
webhook format; rendering rules; idempotency by key."""

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.messaging import MessagingActivities, message_id_for, render
from activities.settings import ActivitySettings
from contracts.messages import MessageRequest, MessageTemplate, Recipient
from contracts.signals import Cancel
from devstack.smtp_sink import SmtpSink
from tests.harness.http_peer import http_peer
from tests.harness.support import (
    advance_until,
    assert_replays,
    make_deal,
    start_journey,
)
from workflows.onboarding import OnboardingWorkflow

TEMPLATE = MessageTemplate(subject="Hi {{ customer_name }}", body="Do {{ action_title }}: {{ cta_url }}\n")
CONTEXT = {"customer_name": "Ana", "action_title": "Upload your first dataset", "cta_url": "https://app.example.com/x"}


def request(key="onboarding-D-1:first_action:direction:1", channel="email", **kw) -> MessageRequest:
    fields = dict(
        key=key,
        deal_id="D-1",
        kind="direction",
        audience="customer",
        channel=channel,
        to=Recipient(name="Ana Ruiz", email="ana@acme.example"),
        template=TEMPLATE,
        context=dict(CONTEXT),
    )
    return MessageRequest(**(fields | kw))


def utf8(header_text: str) -> str:
    return header_text.encode("utf-8", "surrogateescape").decode("utf-8")


def activities(tmp_path, **settings) -> MessagingActivities:
    return MessagingActivities(ActivitySettings(ONBOARDING_DATA_DIR=tmp_path, **settings))


async def test_kickoff_email_reaches_a_real_smtp_server_with_a_deterministic_message_id(ts_env, tmp_path, journeys):
    client = ts_env.client
    deal = make_deal()
    async with SmtpSink() as sink, journeys(client, smtp_url=sink.url) as task_queue:
        handle = await start_journey(client, task_queue, deal)
        await advance_until(
            ts_env,
            handle,
            lambda s: s.waiting_on == "customer" and s.next_action is not None and s.next_action.due_at is not None,
        )
        [kickoff] = await sink.wait_for(1)
        key = f"onboarding-{deal.deal_id}:first_action:direction:1"
        assert kickoff["Message-ID"] == message_id_for(key, "onboarding.vendor.example")
        assert kickoff["To"] == "Ana Ruiz <ana@acme.example>"
        assert kickoff["Subject"] == "Acme Corp: your one first step"
        body = kickoff.get_content()
        assert "Upload your first dataset" in body and "https://app.example.com/datasets/new" in body
        assert body.count("https://") == 1  # exactly one call to action
        assert "Leo Martins" in body  # the one owner introduces themselves
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
        await assert_replays(handle)


async def test_same_key_is_sent_once(tmp_path):
    async with SmtpSink() as sink:
        messaging = activities(tmp_path, SMTP_URL=sink.url)
        env = ActivityEnvironment()
        first = await env.run(messaging.send_message, request())
        again = await env.run(messaging.send_message, request())  # an activity retry
        other = await env.run(messaging.send_message, request(key="onboarding-D-1:first_action:clarify:2"))
        assert (first.duplicate, again.duplicate, other.duplicate) == (False, True, False)
        assert first.message_id == again.message_id != other.message_id
        assert len(await sink.wait_for(2)) == 2
        assert len(sink.messages) == 2


async def test_what_the_customer_receives_is_what_was_rendered_in_any_script(tmp_path):
    """Names, subject and body outside ASCII, a line longer than SMTP allows, a line break a
    CRM name smuggled into the subject, and an internationalized address: each arrives over
    real SMTP and reads back (the standard parser) exactly as rendered, with no added header."""
    template = MessageTemplate(
        subject="{{ customer_name }}: één stap",
        body="Olá {{ customer_name }} — faça isto: {{ cta_url }}\n{{ action_instruction }}\n",
    )
    ana = Recipient(name="Ana Ruiz", email="ana@acme.example")
    cases = [  # (case, recipient, the name in the text, a line of the body)
        ("ascii", ana, "Ana", "See you soon."),
        ("accents", Recipient(name="Zoë Ñúñez, CFO", email="zoe@acme.example"), "Zoë", "Até já."),
        ("injected", Recipient(name="Ana\r\nBcc: x@evil.example", email="ana@acme.example"), "Ana\nBcc: x@evil.example", "-"),
        ("long line", ana, "Ana", "x" * 1200),
        ("international address", Recipient(name="Łucja", email="łucja@acme.example"), "Łucja", "-"),
    ]  # fmt: skip
    async with SmtpSink() as sink:
        messaging = activities(tmp_path, SMTP_URL=sink.url)
        for n, (_, to, name, note) in enumerate(cases, 1):
            key = f"onboarding-D-1:first_action:direction:{n}"
            context = dict(CONTEXT, customer_name=name, action_instruction=note)
            await ActivityEnvironment().run(
                messaging.send_message, request(key=key, to=to, template=template, context=context)
            )
        got = await sink.wait_for(len(cases))
    for (case, to, name, note), message, received in zip(cases, got, sink.received, strict=True):
        assert message["Subject"] == f"{' '.join(name.splitlines())}: één stap", case
        assert received.rcpt_tos == (to.email,), case
        # an SMTPUTF8 message's headers are raw UTF-8, which the bytes parser keeps as bytes
        [address] = message["To"].addresses
        assert utf8(address.addr_spec) == to.email, case
        assert utf8(address.display_name) == " ".join(to.name.splitlines()), case
        assert "Bcc" not in message and message["From"].addresses[0].addr_spec, case
        body = message.get_content().replace("\r\n", "\n")  # quoted-printable keeps the wire's line ends
        assert body == f"Olá {name} — faça isto: https://app.example.com/x\n{note}\n", case
        assert message["X-Onboarding-Kind"] == "direction" and message["List-Unsubscribe"], case


async def test_unreachable_smtp_is_retried_refused_config_is_not(tmp_path):
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as down:
        await env.run(activities(tmp_path, SMTP_URL="smtp://127.0.0.1:1").send_message, request())
    assert not down.value.non_retryable and "SMTP delivery failed" in down.value.message
    with pytest.raises(ApplicationError) as bad:
        await env.run(activities(tmp_path, SMTP_URL="http://mail").send_message, request())
    assert bad.value.non_retryable and "SMTP_URL" in bad.value.message


async def test_slack_incoming_webhook_wire_format(tmp_path):
    with http_peer() as slack:
        messaging = activities(tmp_path, SLACK_WEBHOOK_URL=f"{slack.url}/services/T000/B000/XXXX")
        receipt = await ActivityEnvironment().run(messaging.send_message, request(channel="slack"))
        assert receipt.channel == "slack"
        [posted] = slack.requests
        assert posted.method == "POST" and posted.path == "/services/T000/B000/XXXX"
        assert posted.headers["Content-Type"] == "application/json"
        assert posted.json() == {"text": "*Hi Ana*\nDo Upload your first dataset: https://app.example.com/x\n"}

        slack.respond = lambda r: (400, "text/plain", b"invalid_payload")
        with pytest.raises(ApplicationError) as rejected:
            await ActivityEnvironment().run(messaging.send_message, request(key="k-2", channel="slack"))
        assert rejected.value.non_retryable and "invalid_payload" in rejected.value.message

        slack.respond = lambda r: (503, "text/plain", b"")
        with pytest.raises(ApplicationError) as unavailable:
            await ActivityEnvironment().run(messaging.send_message, request(key="k-3", channel="slack"))
        assert not unavailable.value.non_retryable


def test_rendered_customer_message_needs_exactly_one_link():
    assert render(TEMPLATE, CONTEXT, "customer").subject == "Hi Ana"
    two = dict(CONTEXT, action_title="see https://elsewhere.example")
    with pytest.raises(ApplicationError, match="exactly one call to action"):
        render(TEMPLATE, two, "customer")
    with pytest.raises(ApplicationError, match="cannot be rendered"):
        render(TEMPLATE, {"customer_name": "Ana"}, "customer")


def test_a_link_in_a_crm_name_or_failure_reason_is_not_sent():
    """The CRM's names and the product's reasons are not ours: a link in them is removed, so
    the message keeps its one call to action and carries no link the playbook did not write."""
    template = MessageTemplate(
        subject="{{ account_name }}", body="Hi {{ customer_name }} ({{ reason }}): {{ cta_url }}\n"
    )
    outside = dict(
        CONTEXT,
        customer_name="Ana http://spam.example/x",
        account_name="https://acme.example",
        reason="see https://x.example",
    )
    rendered = render(template, outside, "customer")
    assert rendered.body == "Hi Ana [link removed] (see [link removed]): https://app.example.com/x\n"
    assert rendered.subject == "[link removed]"


async def test_logs_do_not_carry_contact_details(tmp_path, capsys):
    await ActivityEnvironment().run(activities(tmp_path).send_message, request(channel="console"))
    out = capsys.readouterr()
    assert "ana@acme.example" not in out.out + out.err
    assert "Ana Ruiz" not in out.out + out.err
