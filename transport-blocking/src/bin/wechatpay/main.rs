//! `wechatpay`: WeChat Pay e-commerce profit sharing from the command line — splits, finishes,
//! unsplit amounts and returns, after-sales splits, receivers — and webhook notifications
//! verified; `demo` runs the whole flow against an embedded mock.
//!
//! Exit codes: 0 success; 1 an API error, a verification failure, a transport failure (with
//! `outcome: UNKNOWN` when the request may have taken effect) or, with `--wait`, a final
//! failure (an after-sales split `FAILED`, a share `CLOSED`, a return `FAIL`); 2 bad usage or
//! configuration.

mod args;
mod batch;
mod connect;
mod demo;
mod notification;
mod output;
mod profit_sharing;
mod wait;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};
use wechatpay_core::encryption::Encryptor;
use wechatpay_core::receivers::{AddReceiver, DeleteReceiver, ReceiverType, RelationType};
use wechatpay_core::{CreateAfterSalesOrder, Error, QueryAfterSalesOrder, Scene, SharingType};
use wechatpay_transport_blocking::BlockingClient;

use args::{
    AddReceiverArgs, AfterSales, Certificates, Cli, Command, CreateArgs, Notification,
    ProfitSharing, QueryArgs, ReceiverArgs, Receivers,
};

/// A failure before or outside a WeChat Pay call: message and exit code.
pub(crate) struct Fail {
    code: u8,
    message: String,
}

impl Fail {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    pub(crate) fn runtime(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

/// The end of a command: success, a WeChat Pay error already printed, or a failure to print.
enum Outcome {
    Done,
    Failed(u8),
}

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if matches.value_source("apiv3_key") == Some(clap::parser::ValueSource::CommandLine) {
        eprintln!(
            "wechatpay: warning: the APIv3 key given as a flag value shows in `ps` and shell history; use --apiv3-key-file or WECHATPAY_APIV3_KEY"
        );
    }
    match run(&cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Failed(code)) => ExitCode::from(code),
        Err(Fail { code, message }) => {
            eprintln!("wechatpay: {message}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: &Cli) -> Result<Outcome, Fail> {
    match &cli.command {
        Command::Demo => demo::run(cli),
        Command::AfterSales(AfterSales::Batch(b)) => batch::run(cli, b),
        Command::AfterSales(cmd) => {
            let connected = connect::core_client(&cli.connection)?;
            let client = client_for(cli, &connected)?;
            match cmd {
                AfterSales::Create(a) => create(&client, a, cli.json),
                AfterSales::Query(q) => query(&client, q, cli.json),
                AfterSales::Batch(_) => unreachable!("batch is dispatched above"),
            }
        }
        Command::Notification(Notification::Verify(v)) => {
            notification::verify(&cli.connection, v, cli.json, cli.verbose)
        }
        Command::ProfitSharing(cmd) => {
            let connected = connect::core_client(&cli.connection)?;
            let client = client_for(cli, &connected)?;
            match cmd {
                ProfitSharing::Receivers(Receivers::Add(a)) => add_receiver(&client, a, cli.json),
                ProfitSharing::Receivers(Receivers::Delete(d)) => {
                    delete_receiver(&client, d, cli.json)
                }
                ProfitSharing::Orders(cmd) => profit_sharing::orders(&client, cmd, cli.json),
                ProfitSharing::Returns(cmd) => profit_sharing::returns(&client, cmd, cli.json),
            }
        }
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "wechatpay", &mut std::io::stdout());
            Ok(Outcome::Done)
        }
        Command::Certificates(Certificates::Download { out }) => {
            if cli.connection.apiv3_key.is_none() && cli.connection.apiv3_key_file.is_none() {
                return Err(Fail::usage(
                    "certificates download needs the APIv3 key: --apiv3-key-file (or WECHATPAY_APIV3_KEY_FILE, WECHATPAY_APIV3_KEY)",
                ));
            }
            let connected = connect::core_client(&cli.connection)?;
            let client = client_for(cli, &connected)?;
            download(&client, out.as_deref(), cli.json)
        }
    }
}

/// The blocking client for a connection: verbose log and certificate mode as asked.
fn client_for(cli: &Cli, connected: &connect::Connected) -> Result<BlockingClient, Fail> {
    let mut client = connect::blocking_for(connected.core.clone(), &cli.connection, cli.verbose)?;
    if cli.verbose {
        client = client.with_observer(output::exchange);
    }
    Ok(client)
}

/// `certificates download`: fetch, decrypt, verify; print, and write them with --out.
fn download(
    client: &BlockingClient,
    out: Option<&std::path::Path>,
    json: bool,
) -> Result<Outcome, Fail> {
    if let Err(e) = client.refresh_certificates() {
        return Ok(Outcome::Failed(output::error(&e, json)));
    }
    let certificates = client.core().keys().platform_certificates();
    let mut listed = Vec::new();
    for cert in &certificates {
        let path = match out {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Fail::usage(format!("cannot create --out {}: {e}", dir.display()))
                })?;
                let path = dir.join(format!("wechatpay_{}.pem", cert.serial()));
                std::fs::write(&path, cert.pem())
                    .map_err(|e| Fail::runtime(format!("cannot write {}: {e}", path.display())))?;
                Some(path.display().to_string())
            }
            None => None,
        };
        listed.push((cert, path));
    }
    output::certificates(&listed, json);
    Ok(Outcome::Done)
}

fn finish<T>(result: Result<T, Error>, json: bool, print: impl FnOnce(&T, bool)) -> Outcome {
    match result {
        Ok(v) => {
            print(&v, json);
            Outcome::Done
        }
        Err(e) => Outcome::Failed(output::error(&e, json)),
    }
}

/// `profit-sharing receivers add`: the name sealed once with WeChat Pay's key, then sent.
fn add_receiver(client: &BlockingClient, a: &AddReceiverArgs, json: bool) -> Result<Outcome, Fail> {
    let receiver_type = ReceiverType::from(a.receiver.receiver_type.to_ascii_uppercase());
    if receiver_type == ReceiverType::MerchantId && a.name.is_none() {
        return Err(Fail::usage(
            "--name is required for a MERCHANT_ID receiver: the merchant's full name (it is encrypted before sending)",
        ));
    }
    let mut op = AddReceiver::new(
        a.receiver.appid.clone(),
        receiver_type,
        a.receiver.account.clone(),
        RelationType::from(a.relation_type.to_ascii_uppercase()),
    );
    if let Some(name) = &a.name {
        let sealed = encryptor(client).and_then(|encryptor| op.name(&encryptor, name));
        op = match sealed {
            Ok(op) => op,
            Err(e) => return Ok(Outcome::Failed(output::error(&e, json))),
        };
    }
    let serial = op.name.as_ref().map(|n| n.serial().to_owned());
    Ok(finish(client.execute(&op), json, |r, json| {
        output::receiver("added", r, serial.as_deref(), json);
    }))
}

/// The key that encrypts the receiver's name. In certificate mode the client starts with no
/// WeChat Pay key: the certificates are downloaded first.
fn encryptor(client: &BlockingClient) -> Result<Encryptor, Error> {
    if client.core().keys().is_empty() {
        client.refresh_certificates()?;
    }
    client.core().encryptor()
}

/// `profit-sharing receivers delete`.
fn delete_receiver(client: &BlockingClient, d: &ReceiverArgs, json: bool) -> Result<Outcome, Fail> {
    let op = DeleteReceiver::new(
        d.appid.clone(),
        ReceiverType::from(d.receiver_type.to_ascii_uppercase()),
        d.account.clone(),
    );
    Ok(finish(client.execute(&op), json, |r, json| {
        output::receiver("deleted", r, None, json);
    }))
}

fn create(client: &BlockingClient, a: &CreateArgs, json: bool) -> Result<Outcome, Fail> {
    let op = CreateAfterSalesOrder {
        sub_mchid: a.sub_mchid.clone(),
        transaction_id: a.transaction_id.clone(),
        amount: a.amount,
        sharing_type: SharingType::from(a.sharing_type.to_ascii_uppercase()),
        scene: Scene::from(a.scene.to_ascii_uppercase()),
        refund_id: a.refund_id.clone(),
    };
    Ok(finish(client.execute(&op), json, output::accepted))
}

fn query(client: &BlockingClient, q: &QueryArgs, json: bool) -> Result<Outcome, Fail> {
    let op = QueryAfterSalesOrder::new(q.sub_mchid.clone(), q.transaction_id.clone());
    if !q.wait {
        return Ok(finish(client.execute(&op), json, output::order));
    }
    Ok(wait::settled(
        wait::wait_final(
            client,
            &op,
            wait::Poll::command_line(q.wait_timeout),
            std::io::stderr().is_terminal(),
        ),
        json,
        output::order,
    ))
}
