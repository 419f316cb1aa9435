//! `profit-sharing orders create|query|finish|amounts` and `profit-sharing returns
//! create|query`: the split, its finish, what is left, and returns, each checked before it is
//! sent again when its outcome is unknown (core's checks).

use std::io::IsTerminal as _;

use wechatpay_core::orders::{
    CreateProfitSharingOrder, FinishProfitSharingOrder, OrderReceiver, QueryProfitSharingOrder,
    QueryUnsplitAmount,
};
use wechatpay_core::receivers::{MAX_NAME_LEN, ReceiverType};
use wechatpay_core::returns::{CreateReturnOrder, QueryReturnOrder, SplitRef};
use wechatpay_core::{Error, ErrorKind, Operation, validate};
use wechatpay_transport_blocking::BlockingClient;

use crate::args::{
    FinishArgs, OrderCreateArgs, OrderQueryArgs, Orders, ReturnCreateArgs, Returns, SplitRefArgs,
    WaitArgs,
};
use crate::wait::{Poll, Settles, settled, wait_final};
use crate::{Fail, Outcome, encryptor, finish, output};

/// `profit-sharing orders …`.
pub(crate) fn orders(client: &BlockingClient, cmd: &Orders, json: bool) -> Result<Outcome, Fail> {
    Ok(match cmd {
        Orders::Create(a) => create_split(client, a, json),
        Orders::Query(q) => query_split(client, q, json),
        Orders::Finish(f) => finish_order(client, f, json),
        Orders::Amounts(a) => {
            let op = QueryUnsplitAmount::new(a.transaction_id.clone());
            match client.execute(&op) {
                Ok(left) => finish(Ok(left), json, output::unsplit),
                Err(e) => failed(&e, json),
            }
        }
    })
}

/// `profit-sharing returns …`.
pub(crate) fn returns(client: &BlockingClient, cmd: &Returns, json: bool) -> Result<Outcome, Fail> {
    Ok(match cmd {
        Returns::Create(a) => create_return(client, a, json)?,
        Returns::Query(q) => {
            let op = QueryReturnOrder::new(
                q.sub_mchid.clone(),
                split_ref(&q.split)?,
                q.out_return_no.clone(),
            );
            query(client, &op, &q.wait, json, output::return_order)
        }
    })
}

/// The flag a request field comes from, for validation errors.
fn flag_of(field: &str) -> Option<&'static str> {
    Some(match field {
        f if f.starts_with("receivers") => "--receiver",
        "sub_mchid" => "--sub-mchid",
        "transaction_id" => "--transaction-id",
        "out_order_no" => "--out-order-no",
        "order_id" => "--order-id",
        "out_return_no" => "--out-return-no",
        "return_mchid" => "--return-mchid",
        "amount" => "--amount",
        "description" => "--description",
        "appid" => "--appid",
        _ => return None,
    })
}

/// Prints `e` (naming the flag of an invalid field); the exit code.
fn failed(e: &Error, json: bool) -> Outcome {
    let code = output::error(e, json);
    if e.kind() == ErrorKind::InvalidInput
        && let Some(flag) = e.field().and_then(flag_of)
    {
        eprintln!("  flag:       {flag}");
    }
    Outcome::Failed(code)
}

/// `orders create`: validated whole before anything leaves (in certificate mode, before the
/// certificates are downloaded to encrypt names), names encrypted once, then sent; with
/// `--wait`, queried until every share is final.
fn create_split(client: &BlockingClient, a: &OrderCreateArgs, json: bool) -> Outcome {
    let receivers = a
        .receivers
        .iter()
        .map(|r| {
            OrderReceiver::new(
                ReceiverType::from(r.receiver_type.clone()),
                r.account.clone(),
                r.amount,
                r.description.clone(),
            )
        })
        .collect();
    let mut op = CreateProfitSharingOrder::new(
        a.split.sub_mchid.clone(),
        a.split.transaction_id.clone(),
        a.split.out_order_no.clone(),
        receivers,
    );
    op.appid.clone_from(&a.appid);
    if a.finish {
        op = op.finishing();
    }
    if let Err(e) = op.validate() {
        return failed(&e, json);
    }
    let names: Vec<(usize, &str)> = a
        .receivers
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.name.as_deref().map(|n| (i, n)))
        .collect();
    for (_, name) in &names {
        if let Err(e) = validate::text("receivers[].receiver_name", name, MAX_NAME_LEN) {
            return failed(&e, json);
        }
    }
    if !names.is_empty() {
        let sealed = encryptor(client).and_then(|encryptor| {
            for (i, name) in &names {
                if let Some(r) = op.receivers.get_mut(*i) {
                    *r = r.clone().name(&encryptor, name)?;
                }
            }
            Ok(())
        });
        if let Err(e) = sealed {
            return failed(&e, json);
        }
    }
    let answer = match client.execute(&op) {
        Ok(answer) => answer,
        Err(e) => return failed(&e, json),
    };
    if !a.wait.wait || answer.is_final() {
        return if a.wait.wait {
            settled(Ok(answer), json, output::split)
        } else {
            finish(Ok(answer), json, output::split)
        };
    }
    settled(
        wait_final(
            client,
            &op.query(),
            Poll::command_line(a.wait.wait_timeout),
            std::io::stderr().is_terminal(),
        ),
        json,
        output::split,
    )
}

/// `orders query`.
fn query_split(client: &BlockingClient, q: &OrderQueryArgs, json: bool) -> Outcome {
    let op = QueryProfitSharingOrder::new(
        q.split.sub_mchid.clone(),
        q.split.transaction_id.clone(),
        q.split.out_order_no.clone(),
    );
    query(client, &op, &q.wait, json, output::split)
}

/// A query, once or (`--wait`) until final.
fn query<O>(
    client: &BlockingClient,
    op: &O,
    wait: &WaitArgs,
    json: bool,
    print: fn(&O::Output, bool),
) -> Outcome
where
    O: Operation + Clone,
    O::Output: Settles,
{
    if let Err(e) = op.validate() {
        return failed(&e, json);
    }
    if !wait.wait {
        return match client.execute(op) {
            Ok(found) => finish(Ok(found), json, print),
            Err(e) => failed(&e, json),
        };
    }
    settled(
        wait_final(
            client,
            op,
            Poll::command_line(wait.wait_timeout),
            std::io::stderr().is_terminal(),
        ),
        json,
        print,
    )
}

/// `orders finish`.
fn finish_order(client: &BlockingClient, f: &FinishArgs, json: bool) -> Outcome {
    let op = FinishProfitSharingOrder::new(
        f.sub_mchid.clone(),
        f.transaction_id.clone(),
        f.out_order_no.clone(),
        f.description.clone(),
    );
    match client.execute(&op) {
        Ok(done) => finish(Ok(done), json, output::finished),
        Err(e) => failed(&e, json),
    }
}

/// The split `--order-id` or `--out-order-no` names (clap lets exactly one through).
fn split_ref(s: &SplitRefArgs) -> Result<SplitRef, Fail> {
    match (&s.order_id, &s.out_order_no) {
        (Some(id), None) => Ok(SplitRef::OrderId(id.clone())),
        (None, Some(no)) => Ok(SplitRef::OutOrderNo(no.clone())),
        _ => Err(Fail::usage(
            "name the split with exactly one of --order-id or --out-order-no",
        )),
    }
}

/// `returns create`; with `--wait`, queried until final.
fn create_return(
    client: &BlockingClient,
    a: &ReturnCreateArgs,
    json: bool,
) -> Result<Outcome, Fail> {
    let op = CreateReturnOrder::new(
        a.sub_mchid.clone(),
        split_ref(&a.split)?,
        a.out_return_no.clone(),
        a.return_mchid.clone(),
        a.amount,
        a.description.clone(),
    );
    let answer = match client.execute(&op) {
        Ok(answer) => answer,
        Err(e) => return Ok(failed(&e, json)),
    };
    Ok(if !a.wait.wait {
        finish(Ok(answer), json, output::return_order)
    } else if answer.is_final() {
        settled(Ok(answer), json, output::return_order)
    } else {
        settled(
            wait_final(
                client,
                &op.query(),
                Poll::command_line(a.wait.wait_timeout),
                std::io::stderr().is_terminal(),
            ),
            json,
            output::return_order,
        )
    })
}
