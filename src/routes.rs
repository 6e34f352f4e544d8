//! Every route of the service, wired in one place per audience.
//!
//! | audience      | where                                   | who gets in                                      |
//! |---------------|-----------------------------------------|--------------------------------------------------|
//! | operations    | `/healthz`, `/readyz`, `/api/openapi.json`, `/docs` | anyone (no personal data)            |
//! | public        | events, states, learning resources, registering, lost links, privacy requests, unsubscribe | anyone, public writes rate limited per client |
//! | manage token  | `/api/v1/registrations/{id}/…`          | the registration's manage token (`Authorization: Bearer rsm_…`) |
//! | manage page   | `/manage/{id}/…`                        | the token in the emailed link (`?token=`), answered as HTML |
//! | staff         | `/api/v1/admin/…`                       | a staff token (`Authorization: Bearer rss_…`), checked by the scope's gate |
//!
//! Credentials are checked before the body is read: the staff scope's gate
//! ([`crate::auth::staff_gate`]) and the manage scope's gate ([`crate::auth::manage_gate`]) answer
//! 401 (no credential) or 401/404 (a wrong one) whatever the body, so a stranger learns nothing
//! about the shape of what is behind them. Rate limits attach to the resources they protect
//! ([`Router::limited`]), also ahead of the body.
//!
//! Each feature lists its routes in a function per audience taking a [`Router`]; the router
//! records every (method, path) it registers, so [`table`] can list them without starting a
//! server, and a test checks that list against the OpenAPI document.
//!
//! A request no route takes is answered by [`unrouted`], as a problem document like every other
//! error: 405 with `Allow` (every method registered at that path, whichever resource has it) when
//! the path is a resource, 404 otherwise.

use std::cell::RefCell;
use std::sync::OnceLock;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{guard, web, FromRequest, Handler, HttpRequest, HttpResponse, Responder, Route};

use crate::error::AppError;

/// One registered operation: method and full path pattern (`/api/v1/events/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteId {
    pub method: Method,
    pub path: String,
}

/// Registers resources into a `ServiceConfig` (at a scope's prefix) and records them.
pub struct Router<'a, 'r> {
    cfg: &'a mut web::ServiceConfig,
    prefix: &'static str,
    seen: &'r RefCell<Vec<RouteId>>,
    /// Wrap each resource in [`crate::auth::security::no_store`] (see [`Router::private`]).
    no_store: bool,
}

impl<'a, 'r> Router<'a, 'r> {
    fn new(cfg: &'a mut web::ServiceConfig, prefix: &'static str, seen: &'r RefCell<Vec<RouteId>>) -> Self {
        Router { cfg, prefix, seen, no_store: false }
    }

    /// The resources registered through the returned router answer with `Cache-Control:
    /// no-store`: public routes whose answers carry personal data or secrets. (The staff and
    /// manage scopes have it on the whole scope.)
    pub fn private(&mut self) -> Router<'_, 'r> {
        Router { cfg: &mut *self.cfg, prefix: self.prefix, seen: self.seen, no_store: true }
    }

    fn register<T, B>(&mut self, resource: actix_web::Resource<T>)
    where
        T: actix_web::dev::ServiceFactory<
                actix_web::dev::ServiceRequest,
                Config = (),
                Response = actix_web::dev::ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: actix_web::body::MessageBody + 'static,
    {
        if self.no_store {
            self.cfg.service(resource.wrap(from_fn(crate::auth::security::no_store)));
        } else {
            self.cfg.service(resource);
        }
    }

    fn record(&self, path: &str, routes: &[(Method, Route)]) {
        let mut seen = self.seen.borrow_mut();
        for (method, _) in routes {
            seen.push(RouteId { method: method.clone(), path: format!("{}{}", self.prefix, path) });
        }
    }

    /// A resource at `path` (relative to the scope) answering the given methods.
    pub fn at(&mut self, path: &str, routes: impl IntoIterator<Item = (Method, Route)>) -> &mut Self {
        let routes: Vec<(Method, Route)> = routes.into_iter().collect();
        self.record(path, &routes);
        // Another method at this path: a 405 problem document (actix's own 405 has no body).
        let mut resource = web::resource(path.to_string()).default_service(web::to(unrouted));
        for (_, route) in routes {
            resource = resource.route(route);
        }
        self.register(resource);
        self
    }

    /// Like [`Router::at`], behind the per-client rate limit for public writes
    /// ([`crate::ratelimit::gate`]), which answers 429 before the body is read.
    pub fn limited(&mut self, path: &str, routes: impl IntoIterator<Item = (Method, Route)>) -> &mut Self {
        let routes: Vec<(Method, Route)> = routes.into_iter().collect();
        self.record(path, &routes);
        // Guarded by method, so the same path may also be registered, unlimited, for other methods
        // (a GET beside a limited POST): a resource whose guard fails lets routing go on.
        let mut guards = routes.iter().map(|(method, _)| guard::Method(method.clone()));
        let first = guards.next().expect("a limited resource has at least one route");
        let methods = guards.fold(guard::Any(first), |any, g| any.or(g));
        let mut resource = web::resource(path.to_string()).guard(methods).wrap(from_fn(crate::ratelimit::gate));
        for (_, route) in routes {
            resource = resource.route(route);
        }
        self.register(resource);
        self
    }
}

macro_rules! method_fn {
    ($name:ident, $method:ident, $ctor:ident) => {
        /// A route for this method and handler, for [`Router::at`].
        pub fn $name<F, Args>(handler: F) -> (Method, Route)
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            (Method::$method, web::$ctor().to(handler))
        }
    };
}

method_fn!(get, GET, get);
method_fn!(post, POST, post);
method_fn!(patch, PATCH, patch);
method_fn!(put, PUT, put);
method_fn!(delete, DELETE, delete);

/// Every route of the service (used by `app.rs`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let seen = RefCell::new(Vec::new());
    configure_recorded(cfg, &seen);
}

/// Every registered (method, path), in registration order, without starting a server.
pub fn table() -> Vec<RouteId> {
    let seen = RefCell::new(Vec::new());
    let _ = actix_web::App::new().configure(|cfg| configure_recorded(cfg, &seen));
    seen.into_inner()
}

/// The methods registered for a request path (`/api/v1/events/3f…/registrations`), in the order
/// of [`table`], each once; empty when no route pattern matches the path.
pub fn allowed_methods(path: &str) -> Vec<Method> {
    static PATTERNS: OnceLock<Vec<(ResourceDef, Method)>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| table().into_iter().map(|r| (ResourceDef::new(r.path), r.method)).collect());
    let mut methods: Vec<Method> = Vec::new();
    for (def, method) in patterns {
        if def.is_match(path) && !methods.contains(method) {
            methods.push(method.clone());
        }
    }
    methods
}

/// Answers a request that no route took: 405 with `Allow` when its path is a resource that takes
/// other methods (a resource behind the rate limit is guarded by method, so such a request gets
/// here rather than to a resource's own 405), else 404.
pub async fn unrouted(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let allowed = allowed_methods(req.path());
    if allowed.is_empty() {
        Err(AppError::not_found("no such resource"))
    } else {
        Err(AppError::MethodNotAllowed { allowed })
    }
}

fn configure_recorded(cfg: &mut web::ServiceConfig, seen: &RefCell<Vec<RouteId>>) {
    // The busiest routes first. Actix tries the patterns in order: a static one by comparing the
    // path, a dynamic one whose literal start fits the path by running its regular expression
    // (1,200–2,700 instructions in callgrind, matched or not). So the public reads come first, the
    // event list (static) and an event (one regular expression, the one that answers it), then the
    // busiest write, the registration (two: an event's pattern refuses its path first). No other
    // pattern takes these paths, so the order changes nothing else.
    {
        let mut r = Router::new(cfg, "", seen);
        crate::events::routes::public(&mut r);
        crate::registrations::routes::hot(&mut r);
    }

    // Operations.
    crate::ops::routes(&mut Router::new(cfg, "", seen));

    // Public. Registered before the manage scope: `/api/v1/registrations/recover` must win over
    // the scope `/api/v1/registrations/{id}`.
    {
        let mut r = Router::new(cfg, "", seen);
        crate::states::routes::public(&mut r);
        crate::registrations::routes::public(&mut r);
        crate::privacy::routes::public(&mut r);
        crate::mail::routes::public(&mut r);
        crate::experts::routes::public(&mut r);
        crate::credits::routes::public(&mut r);
        crate::resources::routes::public(&mut r);
        crate::site::routes::public(&mut r);
    }

    // An expert booking through its manage token.
    cfg.service(
        web::scope("/api/v1/expert-bookings/{id}")
            .wrap(from_fn(crate::experts::manage::booking_gate))
            .wrap(from_fn(crate::auth::security::no_store))
            .configure(|cfg| {
                let mut r = Router::new(cfg, "/api/v1/expert-bookings/{id}", seen);
                crate::experts::routes::manage(&mut r);
            }),
    );

    // The HTML page of an expert booking (before `/manage/{id}`, which would take its path).
    cfg.service(web::scope("/manage/expert-bookings/{id}").wrap(from_fn(crate::auth::security::no_store)).configure(
        |cfg| {
            let mut r = Router::new(cfg, "/manage/expert-bookings/{id}", seen);
            crate::experts::routes::page(&mut r);
        },
    ));

    // A registration through its manage token.
    cfg.service(
        web::scope("/api/v1/registrations/{id}")
            .wrap(from_fn(crate::auth::manage_gate))
            .wrap(from_fn(crate::auth::security::no_store))
            .configure(|cfg| {
                let mut r = Router::new(cfg, "/api/v1/registrations/{id}", seen);
                crate::registrations::routes::manage(&mut r);
                crate::privacy::routes::manage(&mut r);
            }),
    );

    // The HTML manage page (token in the emailed link).
    cfg.service(web::scope("/manage/{id}").wrap(from_fn(crate::auth::security::no_store)).configure(|cfg| {
        let mut r = Router::new(cfg, "/manage/{id}", seen);
        crate::registrations::routes::page(&mut r);
    }));

    // Staff.
    cfg.service(
        web::scope("/api/v1/admin")
            .wrap(from_fn(crate::auth::staff_gate))
            .wrap(from_fn(crate::auth::security::no_store))
            .configure(|cfg| {
                let mut r = Router::new(cfg, "/api/v1/admin", seen);
                crate::auth::routes::staff(&mut r);
                crate::partners::routes::staff(&mut r);
                crate::events::routes::staff(&mut r);
                crate::registrations::routes::staff(&mut r);
                // Before privacy's `/businesses/{id}`: `/businesses/duplicates` is a path of its own.
                crate::credits::routes::staff(&mut r);
                crate::privacy::routes::staff(&mut r);
                crate::mail::routes::staff(&mut r);
                crate::audit::routes::staff(&mut r);
                crate::reports::routes::staff(&mut r);
                crate::experts::routes::staff(&mut r);
                crate::webhooks::routes::staff(&mut r);
                crate::resources::routes::staff(&mut r);
            }),
    );
}
