//! The checks every console form and page handler shares, done once before the handler runs:
//! [`Posted`] (a logged-in viewer, the form's CSRF token the session's) and
//! [`Viewer::admin_only`]. A handler takes `Viewer` for a page or `Posted<Form>` for a POST and
//! returns `ConsoleResult<Response>`, so a refusal is one `?`.
use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::{ConsoleError, ConsoleResult};
use super::viewer::{Viewer, csrf_ok};
use crate::state::App;

impl Viewer {
    /// `Forbidden` unless the viewer may use the administrative pages.
    pub fn admin_only(&self) -> ConsoleResult<()> {
        if self.may_administer() {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }
}

/// A form whose `csrf` field [`Posted`] checks.
pub trait CsrfForm {
    fn csrf(&self) -> &str;
}

/// Implements [`CsrfForm`] for form structs with a `csrf: String` field.
macro_rules! csrf_form {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::console::forms::CsrfForm for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use csrf_form;

/// The form of every button that acts on one item (revoke, delete): its id and the CSRF token.
#[derive(serde::Deserialize)]
pub struct IdForm {
    pub id: String,
    #[serde(default)]
    csrf: String,
}

csrf_form!(IdForm);

/// A form POST from a logged-in viewer, its CSRF token the session's: the one place every
/// console form is checked, before its handler sees it. A request without a session goes to
/// the login page, a bad token is `403`, a body that is not the form is `400`.
pub struct Posted<F> {
    pub viewer: Viewer,
    pub form: F,
}

impl<F> FromRequest<App> for Posted<F>
where
    F: DeserializeOwned + CsrfForm + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, app).await?;
        let Form(form) = Form::<F>::from_request(Request::from_parts(parts, body), app)
            .await
            .map_err(|e| ConsoleError::Invalid(e.body_text()).into_response())?;
        if !csrf_ok(&viewer, form.csrf()) {
            return Err(ConsoleError::Csrf.into_response());
        }
        Ok(Posted { viewer, form })
    }
}
