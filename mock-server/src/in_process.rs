//! The wiremock adapter: one responder that feeds wiremock's requests to the simulator, and the
//! tick that makes due results final while the mock runs.

use tokio::runtime::Handle;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::{SimRequest, SimResponse, Simulator, TICK, serving};

/// A wiremock server answering every request with `simulator`, and the runtime its
/// notifications are delivered from (the caller's, when there is one).
pub(crate) async fn serve(
    simulator: &Simulator,
    listener: Option<std::net::TcpListener>,
) -> (MockServer, Option<Handle>) {
    let server = match listener {
        Some(l) => MockServer::builder().listener(l).start().await,
        None => MockServer::start().await,
    };
    let runtime = Handle::try_current().ok();
    if let Some(runtime) = &runtime {
        runtime.spawn(tick(simulator.clone(), runtime.clone()));
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(Responder {
            simulator: simulator.clone(),
            runtime: runtime.clone(),
        })
        .named("wechatpay")
        .mount(&server)
        .await;
    (server, runtime)
}

/// Every [`TICK`], makes due results final and starts their notifications' deliveries, until
/// the mock is dropped.
async fn tick(simulator: Simulator, runtime: Handle) {
    loop {
        tokio::time::sleep(TICK).await;
        if simulator.stopped() {
            return;
        }
        serving::tick(&simulator, &runtime);
    }
}

/// The one wiremock responder: the simulator, fed wiremock's request.
struct Responder {
    simulator: Simulator,
    /// Where notification deliveries run.
    runtime: Option<Handle>,
}

/// wiremock's response for a simulator answer.
pub(crate) fn template(answer: SimResponse) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(answer.status);
    let mut content_type = "application/json".to_owned();
    for (name, value) in answer.headers {
        if name == "Content-Type" {
            content_type = value;
        } else {
            t = t.insert_header(name, value.as_str());
        }
    }
    if let Some(d) = answer.delay {
        t = t.set_delay(d);
    }
    t.set_body_raw(answer.body, &content_type)
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        // wiremock has parsed the target into a URL; in-process callers are this SDK's own
        // clients, whose targets are already normal. The standalone server passes the raw one.
        let target = match req.url.query() {
            Some(q) => format!("{}?{q}", req.url.path()),
            None => req.url.path().to_owned(),
        };
        let request = SimRequest {
            method: req.method.as_str(),
            target: &target,
            headers: &req.headers,
            body: &req.body,
        };
        let answer = self.simulator.handle(&request, self.simulator.now());
        match &self.runtime {
            Some(runtime) => serving::after(&self.simulator, &answer, runtime),
            None => serving::print(&self.simulator, &answer.log),
        }
        template(answer)
    }
}
