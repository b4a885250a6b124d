// inbound_bench: Haraka doing the job of the engine's catch-all benchmark rule (AddHeader + S3 +
// SNS), so that benchmarks/run.py can measure the two side by side (benchmarks/README.md,
// "Haraka"). No stock plugin does it: queue/test and queue/quarantine store the message but
// never fsync it, and nothing writes a notification.
//
// Per message:
// - every recipient is accepted (the rule has no recipients: it matches every address);
// - one header is added (`X-Inbound: bench`, the rule's AddHeader action);
// - the message (with that header) is written to its own file under `store` and fsynced
//   before the `250` (the S3 action's object, durable as the engine's spool is before its 250);
// - one JSON line is appended to `notifications`: SES's notification for the SNS action
//   (notificationType, mail with headers and commonHeaders, receipt), with the whole message
//   in `content` up to 150 KB, as SES's SNS action publishes it (above that SES bounces).
// The reverse DNS lookup Haraka makes for each connection is answered at once, since the engine
// makes none. Settings come from config/inbound_bench.ini, [main] store and notifications.

const fs = require('node:fs')
const path = require('node:path')

const MAX_CONTENT = 150 * 1024

exports.register = function () {
    const cfg = this.config.get('inbound_bench.ini').main
    this.store = cfg.store
    this.notifications = fs.openSync(cfg.notifications, 'a')
}

exports.hook_lookup_rdns = function (next) {
    next(OK, 'localhost')
}

exports.hook_rcpt = function (next) {
    next(OK)
}

exports.hook_data_post = function (next, connection) {
    connection.transaction.add_header('X-Inbound', 'bench')
    next()
}

exports.hook_queue = function (next, connection) {
    const txn = connection.transaction
    const received = new Date()
    txn.message_stream.get_data((raw) => {
        store(path.join(this.store, txn.uuid), raw)
            .then(() => {
                const line = JSON.stringify(notification(txn, raw, received)) + '\n'
                fs.write(this.notifications, line, (err) => {
                    if (err) return next(DENYSOFT, `notification not written: ${err.message}`)
                    next(OK)
                })
            })
            .catch((err) => next(DENYSOFT, `message not stored: ${err.message}`))
    })
}

async function store(file, raw) {
    const handle = await fs.promises.open(file, 'wx')
    try {
        await handle.writeFile(raw)
        await handle.sync()
    } finally {
        await handle.close()
    }
}

function notification(txn, raw, received) {
    const headers = txn.header.header_list.map((line) => {
        const colon = line.indexOf(':')
        return { name: line.slice(0, colon), value: line.slice(colon + 1).trim() }
    })
    const recipients = txn.rcpt_to.map((rcpt) => rcpt.address)
    const timestamp = received.toISOString()
    const note = {
        notificationType: 'Received',
        mail: {
            timestamp,
            source: txn.mail_from.address,
            messageId: txn.uuid,
            destination: recipients,
            headersTruncated: false,
            headers,
            commonHeaders: {
                returnPath: txn.mail_from.address,
                from: [txn.header.get_decoded('From').trim()],
                to: [txn.header.get_decoded('To').trim()],
                date: txn.header.get_decoded('Date').trim(),
                messageId: txn.header.get_decoded('Message-ID').trim(),
                subject: txn.header.get_decoded('Subject').trim(),
            },
        },
        receipt: {
            timestamp,
            processingTimeMillis: Date.now() - received.getTime(),
            recipients,
            action: { type: 'SNS', topicArn: 'arn:aws:sns:us-east-1:123456789012:bench', encoding: 'UTF-8' },
        },
    }
    if (raw.length <= MAX_CONTENT) note.content = raw.toString('utf8')
    return note
}
