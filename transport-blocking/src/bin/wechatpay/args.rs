//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const ABOUT: &str = "wechatpay: the command line for WeChat Pay APIv3 (微信支付) e-commerce profit sharing (平台收付通): splits (分账), finishes, returns (分账回退), after-sales splits (售后服务分账), receivers (分账接收方) and webhook notifications (回调通知). It signs every request with the merchant's key, verifies every answer and notification with WeChat Pay's key, encrypts sensitive fields with it, retries safely (a split whose outcome is unknown is checked, never sent twice), and exits 0 on success, 1 on an API or verification failure (or, with --wait, a final failure), 2 on bad usage or configuration.";

const AFTER_HELP: &str = "Connection settings come from flags or the environment (WECHATPAY_*). Without them, give --mock to run against an embedded mock WeChat Pay.

Examples:
  wechatpay demo
  wechatpay --mock after-sales query --sub-mchid 1900000109 --transaction-id 4208450740201411110007820472
  wechatpay --mock profit-sharing receivers add --appid wx8888888888888888 --type MERCHANT_ID --account 1900000110 \\
    --name '示例商户全称有限公司' --relation-type SUPPLIER --verbose
  wechatpay --mock profit-sharing orders create --sub-mchid 1900000109 --transaction-id 4208450740201411110007820472 \\
    --out-order-no P20150806125346 --receiver MERCHANT_ID:1900000110:888:分给商户1900000110 --wait
  wechatpay --mock notification verify --request captured.http --at 1764000000
  wechatpay completions bash > /etc/bash_completion.d/wechatpay";

/// The command line.
#[derive(Parser, Debug)]
#[command(name = "wechatpay", version, about = ABOUT, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// Print the result as one JSON object on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print each HTTP exchange on stderr (signatures redacted).
    #[arg(long, global = true)]
    pub(crate) verbose: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where WeChat Pay is and who the merchant is.
#[derive(Args, Debug)]
#[command(next_help_heading = "Connection (flags or WECHATPAY_* environment)")]
pub(crate) struct Connection {
    /// Runs against an embedded mock WeChat Pay instead of a real one (says so on stderr).
    #[arg(long, global = true, conflicts_with_all = ["base_url", "mchid", "merchant_serial", "merchant_private_key", "wechatpay_public_key_id", "wechatpay_public_key"])]
    pub(crate) mock: bool,
    /// WeChat Pay's base URL (`https://api.mch.weixin.qq.com` when credentials are given).
    #[arg(long, env = "WECHATPAY_BASE_URL", global = true)]
    pub(crate) base_url: Option<String>,
    /// Merchant id.
    #[arg(long, env = "WECHATPAY_MCHID", global = true)]
    pub(crate) mchid: Option<String>,
    /// Serial of the merchant's API certificate.
    #[arg(long, env = "WECHATPAY_MERCHANT_SERIAL", global = true)]
    pub(crate) merchant_serial: Option<String>,
    /// The merchant's API private key (PEM, PKCS#8 or PKCS#1).
    #[arg(
        long,
        env = "WECHATPAY_MERCHANT_PRIVATE_KEY",
        value_name = "FILE",
        global = true
    )]
    pub(crate) merchant_private_key: Option<PathBuf>,
    /// The WeChat Pay public key id (PUB_KEY_ID_…).
    #[arg(long, env = "WECHATPAY_PUBLIC_KEY_ID", global = true)]
    pub(crate) wechatpay_public_key_id: Option<String>,
    /// The WeChat Pay public key (PEM).
    #[arg(long, env = "WECHATPAY_PUBLIC_KEY", value_name = "FILE", global = true)]
    pub(crate) wechatpay_public_key: Option<PathBuf>,
    /// The APIv3 key: runs in platform-certificate mode (certificates are downloaded, decrypted
    /// and refreshed); the WeChat Pay public key becomes optional. Prefer --apiv3-key-file or
    /// the environment: a flag value shows in `ps` and in shell history.
    #[arg(
        long,
        env = "WECHATPAY_APIV3_KEY",
        global = true,
        hide_env_values = true,
        conflicts_with = "apiv3_key_file"
    )]
    pub(crate) apiv3_key: Option<Secret>,
    /// A file holding the APIv3 key (surrounding whitespace ignored).
    #[arg(
        long,
        env = "WECHATPAY_APIV3_KEY_FILE",
        value_name = "FILE",
        global = true
    )]
    pub(crate) apiv3_key_file: Option<PathBuf>,
    /// An HTTP proxy for every request, `http://[user:password@]host:port` (https goes through
    /// CONNECT). Without it, HTTPS_PROXY / ALL_PROXY / NO_PROXY are read as curl reads them;
    /// `--proxy off` ignores them.
    #[arg(
        long,
        env = "WECHATPAY_PROXY",
        value_name = "URL",
        global = true,
        hide_env_values = true
    )]
    pub(crate) proxy: Option<Secret>,
    /// A PEM root certificate to trust besides the usual ones (e.g. a TLS-inspecting proxy's
    /// CA); repeatable.
    #[arg(long = "ca-cert", value_name = "FILE", global = true)]
    pub(crate) ca_certs: Vec<PathBuf>,
}

/// A secret flag value: its `Debug` shows nothing.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Connection {
    /// Whether any setting of a real WeChat Pay is given (the APIv3 key does not count: with
    /// --mock, the embedded mock runs in certificate mode).
    pub(crate) fn any_credential(&self) -> bool {
        self.base_url.is_some() || self.any_merchant_setting()
    }

    fn any_merchant_setting(&self) -> bool {
        self.mchid.is_some()
            || self.merchant_serial.is_some()
            || self.merchant_private_key.is_some()
            || self.wechatpay_public_key_id.is_some()
            || self.wechatpay_public_key.is_some()
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// After-sales profit sharing: request a split, query its result.
    #[command(subcommand)]
    AfterSales(AfterSales),
    /// Runs the whole story against the embedded mock: a paid order declared, a receiver
    /// added, a split to it, the order finished, what is left asked, part of the split
    /// returned, and after-sales splits that succeed and fail; every request signed, every
    /// answer verified.
    #[command(after_help = "Example:\n  wechatpay demo --verbose")]
    Demo,
    /// Platform certificates (needs the APIv3 key).
    #[command(subcommand)]
    Certificates(Certificates),
    /// Webhook notifications (回调通知): verify one as it was captured.
    #[command(
        subcommand,
        after_help = "Example:\n  wechatpay --mock notification verify --request captured.http --at 1764000000"
    )]
    Notification(Notification),
    /// Profit sharing (分账): receivers, splits (orders) and returns.
    #[command(
        subcommand,
        after_help = "Example:\n  wechatpay --mock profit-sharing receivers delete --appid wx8888888888888888 --type MERCHANT_ID --account 1900000110"
    )]
    ProfitSharing(ProfitSharing),
    /// Prints shell completions.
    #[command(after_help = "Example:\n  wechatpay completions zsh > ~/.zfunc/_wechatpay")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum Certificates {
    /// Downloads, decrypts and verifies WeChat Pay's platform certificates (GET /v3/certificates).
    #[command(
        after_help = "Example:\n  WECHATPAY_APIV3_KEY_FILE=apiv3.key wechatpay --mchid 1900000100 --merchant-serial 3775B6A45ACD588826D15E583A95F5DD00000001 \\\n    --merchant-private-key apiclient_key.pem certificates download --out certs/"
    )]
    Download {
        /// Writes each certificate to `DIR/wechatpay_SERIAL.pem`.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum AfterSales {
    /// Request after-sales profit sharing (POST /v3/ecommerce/profitsharing/after-sales-orders).
    #[command(
        after_help = "Example:\n  wechatpay --mock after-sales create --sub-mchid 1900000109 --transaction-id 4208450740201411110007820472 \\\n    --amount 100 --scene REFUND_TICKET --refund-id 50000000382019052709732678859"
    )]
    Create(CreateArgs),
    /// Query its result (GET /v3/ecommerce/profitsharing/after-sales-orders).
    #[command(
        after_help = "Example:\n  wechatpay --mock after-sales query --sub-mchid 1900000109 --transaction-id 4208450740201411110007820472 --wait --json"
    )]
    Query(QueryArgs),
    /// Creates after-sales splits in bulk: one create per row of a file, each row validated
    /// before anything is sent, every send recorded in a journal first so that a run killed at
    /// any moment can be run again to finish the job (never creating a split twice).
    #[command(after_help = BATCH_HELP)]
    Batch(BatchArgs),
}

const BATCH_HELP: &str = "Input: JSON Lines, one object a line ({\"sub_mchid\":\"1900000109\",\"transaction_id\":\"4208450740201411110007820472\",\"amount\":100,\"scene\":\"REFUND_TICKET\",\"refund_id\":\"50000000382019052709732678859\"}), or CSV with a header row naming the columns when the file name ends in .csv. Fields: sub_mchid, transaction_id, amount (integer fen), scene, refund_id, and type (optional; SERVICE_FEE_INCOME). Lines are numbered as in the file; blank lines are skipped. Every row is checked first: one bad row (or two rows for the same sub_mchid + transaction_id) exits 2 naming its line and field, and nothing is sent.

The journal (--journal, default INPUT.journal) records each row's intent, synced to disk before its request leaves, and its outcome after. Run the same command again to resume: rows done are skipped, rows whose outcome is unknown (killed mid-request, a 5xx, a timeout) are checked with a query before anything is sent again (found: it was created; not found: it is sent), rows never started are sent. A journal refuses an input that changed under it (exit 2). One run per journal at a time.

--rate is a token bucket that holds one token and gains PER_SECOND tokens a second; every request (create, check, --wait poll, retry) takes one, so requests leave at least 1/PER_SECOND s apart and no second sees more than PER_SECOND of them.

On a terminal a progress bar shows rows done, rate, ok/failed/unknown and the time left; otherwise one summary line is printed at the end (stderr). The report (--report) has one JSON line per row: line, outcome (created, success, failed, rejected, unknown, not_sent), amount, request_id, code, message. Exit 0 when every row succeeded (created; with --wait, SUCCESS), 1 when any failed or stays unknown (the summary names the lines; run again to retry what was not created and check what is unknown), 2 for usage.

Example:
  printf '%s\\n' '{\"sub_mchid\":\"1900000109\",\"transaction_id\":\"4208450740201411110007820472\",\"amount\":100,\"scene\":\"REFUND_TICKET\",\"refund_id\":\"50000000382019052709732678859\"}' > splits.jsonl
  wechatpay --mock after-sales batch --input splits.jsonl --journal splits.journal --report splits.report.jsonl --rate 20 --wait";

#[derive(Args, Debug)]
pub(crate) struct BatchArgs {
    /// The rows: JSON Lines, or CSV with a header row when the name ends in .csv.
    #[arg(long, value_name = "FILE")]
    pub(crate) input: PathBuf,
    /// Rows in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) concurrency: u16,
    /// At most PER_SECOND requests a second (a token bucket of one token; see below).
    #[arg(long, value_name = "PER_SECOND", default_value_t = 10.0)]
    pub(crate) rate: f64,
    /// The journal that makes a run resumable [default: INPUT.journal].
    #[arg(long, value_name = "FILE")]
    pub(crate) journal: Option<PathBuf>,
    /// Writes one JSON line per row when the run ends (replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Polls each row to its final result (SUCCESS or FAILED; FAILED exits 1).
    #[arg(long)]
    pub(crate) wait: bool,
    /// With --wait: give up on a row after this many seconds (it stays to be polled next run).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub(crate) wait_timeout: u64,
}

#[derive(Args, Debug)]
pub(crate) struct CreateArgs {
    /// The e-commerce sub-merchant that funds the split.
    #[arg(long)]
    pub(crate) sub_mchid: String,
    /// The paid order's WeChat Pay transaction id.
    #[arg(long)]
    pub(crate) transaction_id: String,
    /// Amount in fen (integer, > 0).
    #[arg(long, value_name = "FEN")]
    pub(crate) amount: i64,
    /// REFUND_TICKET, CHANGE_TICKET or RETURN_GOODS.
    #[arg(long)]
    pub(crate) scene: String,
    /// The WeChat Pay refund id.
    #[arg(long)]
    pub(crate) refund_id: String,
    /// The split type.
    #[arg(long = "type", default_value = "SERVICE_FEE_INCOME")]
    pub(crate) sharing_type: String,
}

#[derive(Args, Debug)]
pub(crate) struct QueryArgs {
    /// The e-commerce sub-merchant that funds the split.
    #[arg(long)]
    pub(crate) sub_mchid: String,
    /// The paid order's WeChat Pay transaction id.
    #[arg(long)]
    pub(crate) transaction_id: String,
    /// Poll (with backoff) until the result is final; FAILED exits 1.
    #[arg(long)]
    pub(crate) wait: bool,
    /// With --wait: give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub(crate) wait_timeout: u64,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Notification {
    /// Verifies one notification exactly as WeChat Pay sent it and prints its decrypted
    /// resource. Give the raw HTTP/1.1 request as captured: request line, headers, a blank
    /// line, then the body byte for byte (CRLF or LF line ends). It needs only WeChat Pay's
    /// key (--wechatpay-public-key-id with --wechatpay-public-key, or --platform-certificate)
    /// and the APIv3 key (--apiv3-key-file or WECHATPAY_APIV3_KEY_FILE), no merchant key. Exit
    /// 0 when it verifies; 1 with the reason when it does not (a body that was re-serialised
    /// says so); 2 for usage, configuration, or a file that is not an HTTP request.
    #[command(after_help = VERIFY_HELP)]
    Verify(VerifyArgs),
}

const VERIFY_HELP: &str = "The signature covers the body's exact bytes: capture it before any JSON parsing (a framework's Json extractor re-serialises it). With --json, prints the whole notification with its resource decrypted: id, create_time, event_type, summary, original_type, resource, request_id.

Examples:
  WECHATPAY_APIV3_KEY_FILE=apiv3.key wechatpay notification verify --request captured.http \\
    --wechatpay-public-key-id PUB_KEY_ID_0114232134912410000000000000 --wechatpay-public-key pub_key.pem
  wechatpay notification verify --platform-certificate certs/wechatpay_5157F09EFDC096DE15EBE81A47057A7232F1B8E1.pem \\
    --apiv3-key-file apiv3.key --at 1764000000 --json < captured.http
  wechatpay --mock notification verify --request captured.http --at 1764000000   # the mock's test keys";

#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The captured request; `-` or none reads standard input.
    #[arg(long, value_name = "FILE")]
    pub(crate) request: Option<PathBuf>,
    /// A platform certificate (PEM) to trust, for notifications signed by one (repeatable;
    /// `certificates download --out DIR` writes them).
    #[arg(long, value_name = "FILE")]
    pub(crate) platform_certificate: Vec<PathBuf>,
    /// Verifies as if the clock read UNIX_SECONDS: for replaying a captured notification later,
    /// which the ±300 s window refuses otherwise (its Wechatpay-Timestamp is a good value).
    /// Leave it out for a notification that just arrived.
    #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
    pub(crate) at: Option<i64>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ProfitSharing {
    /// Profit-sharing receivers (分账接收方): a receiver must be added before a split names it.
    #[command(
        subcommand,
        after_help = "Example:\n  wechatpay --mock profit-sharing receivers add --appid wx8888888888888888 --type PERSONAL_OPENID \\\n    --account oUpF8uMuAJO_M2pxb1Q9zNjWeS6o --relation-type OTHERS"
    )]
    Receivers(Receivers),
    /// Splits (分账): split a paid order's funds to receivers, query a split, finish the
    /// order, ask what is left to split.
    #[command(
        subcommand,
        after_help = "Example:\n  wechatpay --mock profit-sharing orders amounts --transaction-id 4208450740201411110007820472"
    )]
    Orders(Orders),
    /// Returns (分账回退): take funds back from a receiver after a refund, query a return.
    #[command(
        subcommand,
        after_help = "Example:\n  wechatpay --mock profit-sharing returns query --sub-mchid 1900000109 --out-order-no P20150806125346 \\\n    --out-return-no R20190516001 --wait"
    )]
    Returns(Returns),
}

const ORDERS_CREATE_HELP: &str = "Each --receiver is TYPE:ACCOUNT:AMOUNT:DESCRIPTION[:NAME]: TYPE is MERCHANT_ID or PERSONAL_OPENID, AMOUNT is in fen, DESCRIPTION is shown to the receiver (it cannot hold ':'; the full-width '：' is fine), NAME is the receiver's name (optional; everything after the fourth ':'), encrypted with WeChat Pay's key before it leaves. The receivers must have been added first (profit-sharing receivers add). A split whose outcome is unknown is checked by its --out-order-no before anything is sent again: the same number is the same split.

Example:
  wechatpay --mock profit-sharing orders create --sub-mchid 1900000109 --transaction-id 4208450740201411110007820472 \\
    --out-order-no P20150806125346 --receiver 'MERCHANT_ID:1900000110:888:分给商户1900000110:示例商户全称有限公司' --wait";

#[derive(Subcommand, Debug)]
pub(crate) enum Orders {
    /// Splits a paid order's funds to receivers (POST /v3/ecommerce/profitsharing/orders).
    #[command(after_help = ORDERS_CREATE_HELP)]
    Create(OrderCreateArgs),
    /// Queries a split, or a finish, by its number (GET /v3/ecommerce/profitsharing/orders).
    #[command(
        after_help = "Example:\n  wechatpay --mock profit-sharing orders query --sub-mchid 1900000109 --transaction-id 4208450740201411110007820472 \\\n    --out-order-no P20150806125346 --wait --json"
    )]
    Query(OrderQueryArgs),
    /// Finishes the order: no more splits, what is left goes to the sub-merchant
    /// (POST /v3/ecommerce/profitsharing/finish-order). The finish has its own --out-order-no.
    #[command(
        after_help = "Example:\n  wechatpay --mock profit-sharing orders finish --sub-mchid 1900000109 --transaction-id 4208450740201411110007820472 \\\n    --out-order-no F20150806125346 --description '分账完结'"
    )]
    Finish(FinishArgs),
    /// What is left to split of a paid order
    /// (GET /v3/ecommerce/profitsharing/orders/{transaction_id}/amounts).
    #[command(
        after_help = "Example:\n  wechatpay --mock profit-sharing orders amounts --transaction-id 4208450740201411110007820472 --json"
    )]
    Amounts(AmountsArgs),
}

/// How `--wait` polls.
#[derive(Args, Debug)]
pub(crate) struct WaitArgs {
    /// Poll (with backoff) until the result is final; a final failure exits 1.
    #[arg(long)]
    pub(crate) wait: bool,
    /// With --wait: give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub(crate) wait_timeout: u64,
}

/// Which split of which paid order.
#[derive(Args, Debug)]
pub(crate) struct SplitArgs {
    /// The e-commerce sub-merchant whose order is split.
    #[arg(long)]
    pub(crate) sub_mchid: String,
    /// The paid order's WeChat Pay transaction id.
    #[arg(long)]
    pub(crate) transaction_id: String,
    /// The merchant's number for the split (the same number with the same receivers is the
    /// same split).
    #[arg(long)]
    pub(crate) out_order_no: String,
}

#[derive(Args, Debug)]
pub(crate) struct OrderCreateArgs {
    #[command(flatten)]
    pub(crate) split: SplitArgs,
    /// A receiver and its share: `TYPE:ACCOUNT:AMOUNT:DESCRIPTION[:NAME]` (repeatable).
    #[arg(long = "receiver", value_name = "TYPE:ACCOUNT:AMOUNT:DESCRIPTION[:NAME]", required = true, value_parser = parse_receiver)]
    pub(crate) receivers: Vec<ReceiverSpec>,
    /// The last split: what is left goes to the sub-merchant.
    #[arg(long)]
    pub(crate) finish: bool,
    /// The app id (optional; needed for PERSONAL_OPENID receivers under a sub-merchant's app).
    #[arg(long)]
    pub(crate) appid: Option<String>,
    #[command(flatten)]
    pub(crate) wait: WaitArgs,
}

/// One `--receiver` as given; the name still in the clear.
#[derive(Debug, Clone)]
pub(crate) struct ReceiverSpec {
    pub(crate) receiver_type: String,
    pub(crate) account: String,
    pub(crate) amount: i64,
    pub(crate) description: String,
    pub(crate) name: Option<String>,
}

/// `TYPE:ACCOUNT:AMOUNT:DESCRIPTION[:NAME]`; the name is everything after the fourth `:`.
pub(crate) fn parse_receiver(s: &str) -> Result<ReceiverSpec, String> {
    let mut parts = s.splitn(5, ':');
    let mut next = |what: &str| -> Result<String, String> {
        match parts.next() {
            Some(p) if !p.trim().is_empty() => Ok(p.trim().to_owned()),
            _ => Err(format!(
                "{what} is missing: expected TYPE:ACCOUNT:AMOUNT:DESCRIPTION[:NAME], e.g. MERCHANT_ID:1900000110:888:分给商户"
            )),
        }
    };
    let receiver_type = next("TYPE")?.to_ascii_uppercase();
    let account = next("ACCOUNT")?;
    let amount_text = next("AMOUNT")?;
    let amount = amount_text
        .parse::<i64>()
        .map_err(|_| format!("AMOUNT {amount_text:?} is not a whole number of fen"))?;
    let description = next("DESCRIPTION")?;
    let name = match parts.next() {
        None => None,
        Some(n) if n.trim().is_empty() => {
            return Err(
                "NAME is empty: leave out the last ':' for a receiver without a name".into(),
            );
        }
        Some(n) => Some(n.trim().to_owned()),
    };
    Ok(ReceiverSpec {
        receiver_type,
        account,
        amount,
        description,
        name,
    })
}

#[derive(Args, Debug)]
pub(crate) struct OrderQueryArgs {
    #[command(flatten)]
    pub(crate) split: SplitArgs,
    #[command(flatten)]
    pub(crate) wait: WaitArgs,
}

#[derive(Args, Debug)]
pub(crate) struct FinishArgs {
    /// The e-commerce sub-merchant whose order is finished.
    #[arg(long)]
    pub(crate) sub_mchid: String,
    /// The paid order's WeChat Pay transaction id.
    #[arg(long)]
    pub(crate) transaction_id: String,
    /// The merchant's number for this finish (not a split's).
    #[arg(long)]
    pub(crate) out_order_no: String,
    /// Why (kept in the records).
    #[arg(long)]
    pub(crate) description: String,
}

#[derive(Args, Debug)]
pub(crate) struct AmountsArgs {
    /// The paid order's WeChat Pay transaction id.
    #[arg(long)]
    pub(crate) transaction_id: String,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Returns {
    /// Takes funds back from a receiver (POST /v3/ecommerce/profitsharing/returnorders). A
    /// return whose outcome is unknown is checked by its --out-return-no before anything is
    /// sent again.
    #[command(
        after_help = "Example:\n  wechatpay --mock profit-sharing returns create --sub-mchid 1900000109 --out-order-no P20150806125346 \\\n    --out-return-no R20190516001 --return-mchid 1900000110 --amount 10 --description '用户退款' --wait"
    )]
    Create(ReturnCreateArgs),
    /// Queries a return by its number (GET /v3/ecommerce/profitsharing/returnorders).
    #[command(
        after_help = "Example:\n  wechatpay --mock profit-sharing returns query --sub-mchid 1900000109 --order-id 3008450740201411110007820472 \\\n    --out-return-no R20190516001 --json"
    )]
    Query(ReturnQueryArgs),
}

/// The split a return takes funds from: WeChat Pay's number or the merchant's.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub(crate) struct SplitRefArgs {
    /// WeChat Pay's number of the split (order_id).
    #[arg(long)]
    pub(crate) order_id: Option<String>,
    /// The merchant's number of the split (out_order_no).
    #[arg(long)]
    pub(crate) out_order_no: Option<String>,
}

#[derive(Args, Debug)]
pub(crate) struct ReturnCreateArgs {
    /// The e-commerce sub-merchant whose split it was.
    #[arg(long)]
    pub(crate) sub_mchid: String,
    #[command(flatten)]
    pub(crate) split: SplitRefArgs,
    /// The merchant's number for this return (the same number with the same amount and
    /// merchant is the same return).
    #[arg(long)]
    pub(crate) out_return_no: String,
    /// The receiver (a merchant) the funds come back from.
    #[arg(long)]
    pub(crate) return_mchid: String,
    /// Amount in fen (integer, > 0).
    #[arg(long, value_name = "FEN", allow_negative_numbers = true)]
    pub(crate) amount: i64,
    /// Why (kept in the records).
    #[arg(long)]
    pub(crate) description: String,
    #[command(flatten)]
    pub(crate) wait: WaitArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ReturnQueryArgs {
    /// The e-commerce sub-merchant whose split it was.
    #[arg(long)]
    pub(crate) sub_mchid: String,
    #[command(flatten)]
    pub(crate) split: SplitRefArgs,
    /// The merchant's number for the return.
    #[arg(long)]
    pub(crate) out_return_no: String,
    #[command(flatten)]
    pub(crate) wait: WaitArgs,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Receivers {
    /// Adds a receiver (POST /v3/ecommerce/profitsharing/receivers/add). The name is encrypted
    /// with WeChat Pay's key (RSAES-OAEP) before it leaves, and the request names that key in
    /// Wechatpay-Serial (--verbose shows both). Adding one that exists changes nothing.
    #[command(
        after_help = "Examples:\n  wechatpay --mock profit-sharing receivers add --appid wx8888888888888888 --type MERCHANT_ID --account 1900000110 \\\n    --name '示例商户全称有限公司' --relation-type SUPPLIER --verbose\n  wechatpay --mock profit-sharing receivers add --appid wx8888888888888888 --type PERSONAL_OPENID \\\n    --account oUpF8uMuAJO_M2pxb1Q9zNjWeS6o --relation-type OTHERS --json"
    )]
    Add(AddReceiverArgs),
    /// Deletes a receiver (POST /v3/ecommerce/profitsharing/receivers/delete). Deleting one
    /// that does not exist changes nothing.
    #[command(
        after_help = "Example:\n  wechatpay --mock profit-sharing receivers delete --appid wx8888888888888888 --type MERCHANT_ID --account 1900000110"
    )]
    Delete(ReceiverArgs),
}

/// Which receiver.
#[derive(Args, Debug)]
pub(crate) struct ReceiverArgs {
    /// The app id the receiver belongs to.
    #[arg(long)]
    pub(crate) appid: String,
    /// MERCHANT_ID (the account is a mchid) or PERSONAL_OPENID (an openid under --appid).
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) receiver_type: String,
    /// The receiver's mchid or openid.
    #[arg(long)]
    pub(crate) account: String,
}

#[derive(Args, Debug)]
pub(crate) struct AddReceiverArgs {
    #[command(flatten)]
    pub(crate) receiver: ReceiverArgs,
    /// The receiver's name: the merchant's full name (required for MERCHANT_ID), or the
    /// person's real name. Encrypted before sending.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// How the receiver relates to the merchant: SUPPLIER, DISTRIBUTOR, SERVICE_PROVIDER,
    /// PLATFORM or OTHERS.
    #[arg(long, value_name = "RELATION")]
    pub(crate) relation_type: String,
}
