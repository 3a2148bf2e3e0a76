//! Call step-up from the client: a call for which the provider asks a
//! challenge of its own (a Currencycloud payment with SCA) is validated
//! first, the program's step-up callback is asked for the code the user
//! received, and the call then goes with the challenge's headers. Each call
//! has its own challenge, so threads paying at once do not wait for one
//! another; they share the session's token, and so its one login.

use authsession_core::call_step_up::{
    CODE_HEADER, ID_HEADER, OPT_IN_HEADER, TO_AUTHENTICATED_USER_HEADER,
};
use authsession_core::{
    CallAnswer, CallStepUp, CodePrompt, PromptReason, Provider, Validated, kit::is_success,
};
use zeroize::Zeroize;

use crate::client::{Answered, Call, Client};
use crate::error::Error;
use crate::step_up::StepUpAnswer;
use crate::transport::{HttpResponse, add_headers};

/// How many times one call asks the callback: the API ends a challenge
/// after five wrong codes, so the bound only stops a callback that never
/// gives a usable answer.
const PROMPTS: u32 = 8;

/// How many challenges (validates, each sending a new code) one call asks
/// for at most.
const CHALLENGES: u32 = 3;

/// What the validate's answer leads to.
enum Validation {
    /// The call may go, after the user's code if there is a prompt.
    Go(Option<CodePrompt>),
    /// The API refused the call's data: its answer is the caller's.
    Refused(http::Response<Vec<u8>>),
}

impl<P: Provider> Client<P> {
    /// Sends `call` through its challenge: validate, the user's code (if
    /// the challenge needs one), the call. A refused code is never sent
    /// again; a new code is asked for only when the callback asks for one.
    /// Once `abandoned` says the caller is gone, nothing more is sent or
    /// asked ([`Error::Abandoned`]): above all not the call itself.
    pub(crate) fn send_with_call_step_up(
        &self,
        call: &Call<'_>,
        mut challenge: CallStepUp,
        abandoned: &dyn Fn() -> bool,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        // The challenge's headers are the challenge's alone: a validate
        // never carries an id, and the call carries this challenge's.
        let mut own_headers = call.headers.clone();
        for name in [
            ID_HEADER,
            CODE_HEADER,
            OPT_IN_HEADER,
            TO_AUTHENTICATED_USER_HEADER,
        ] {
            own_headers.remove(name);
        }
        let call = &Call {
            headers: &own_headers,
            ..*call
        };
        let validate_url = self.transport.base.join(challenge.validate_path())?;
        let validate = Call {
            url: &validate_url,
            ..*call
        };
        let mut prompt = match self.validate(&validate, &mut challenge)? {
            Validation::Go(prompt) => prompt,
            Validation::Refused(response) => return Ok(response),
        };
        let mut last_refusal = None;
        for _ in 0..PROMPTS {
            if abandoned() {
                return Err(Error::Abandoned);
            }
            let mut code = match prompt {
                None => None,
                Some(asked) => match self.ask_for_code(&asked)? {
                    StepUpAnswer::Code(code) if asked.reason != PromptReason::CodeExpired => {
                        Some(code)
                    }
                    StepUpAnswer::NewCode if challenge.challenges_sent() < CHALLENGES => {
                        prompt = match self.validate(&validate, &mut challenge)? {
                            Validation::Go(prompt) => prompt,
                            Validation::Refused(response) => return Ok(response),
                        };
                        continue;
                    }
                    StepUpAnswer::Declined if last_refusal.is_none() => {
                        return Err(Error::StepUpDeclined);
                    }
                    // Declined after a refusal, or an answer that does not
                    // fit (a code for a challenge that is over, a push
                    // approval, one new code too many): the server's last
                    // refusal is why the call failed.
                    answer => {
                        if let StepUpAnswer::Code(mut code) = answer {
                            code.zeroize();
                        }
                        return Err(Error::StepUpFailed(Box::new(last_refusal.unwrap_or(
                            authsession_core::Error::Unsupported {
                                what: "the step-up callback's answer",
                            },
                        ))));
                    }
                },
            };
            // The user may have taken a while: the caller may be gone.
            if abandoned() {
                code.zeroize();
                return Err(Error::Abandoned);
            }
            let sent = self.send_challenged(call, &mut challenge, code.as_deref());
            code.zeroize();
            let answered = sent?;
            match challenge.read_answer(&HttpResponse(&answered.response)) {
                CallAnswer::Passed => return Ok(answered.response),
                CallAnswer::CodeRefused(next) => {
                    last_refusal = answered.fatal;
                    prompt = Some(next);
                }
                CallAnswer::ChallengeOver {
                    prompt: next,
                    error,
                } => {
                    last_refusal = Some(error);
                    prompt = Some(next);
                }
                CallAnswer::Refused(error) => return Err(Error::Api(Box::new(error))),
                // Not about the challenge: the call's own answer.
                _ => {
                    return match answered.fatal {
                        Some(error) => Err(Error::Api(Box::new(error))),
                        None => Ok(answered.response),
                    };
                }
            }
        }
        Err(Error::StepUpFailed(Box::new(last_refusal.unwrap_or(
            authsession_core::Error::Unsupported {
                what: "more step-up prompts",
            },
        ))))
    }

    /// Validates the call's data, which sends the user a new code when
    /// the challenge needs one.
    fn validate(
        &self,
        validate: &Call<'_>,
        challenge: &mut CallStepUp,
    ) -> Result<Validation, Error> {
        let mut extra = http::HeaderMap::new();
        add_headers(&mut extra, &challenge.validate_headers())?;
        let answered = self.send_call(validate, &extra)?;
        if let Some(error) = answered.fatal {
            return Err(Error::Api(Box::new(error)));
        }
        if !is_success(answered.response.status().as_u16()) {
            return Ok(Validation::Refused(answered.response));
        }
        match challenge.read_validation(&HttpResponse(&answered.response)) {
            Ok(Validated::CodeSent(prompt)) => Ok(Validation::Go(Some(prompt))),
            Ok(_) => Ok(Validation::Go(None)),
            Err(error) => Err(Error::StepUpFailed(Box::new(error))),
        }
    }

    /// Sends the call with its challenge's headers (and `code`).
    fn send_challenged(
        &self,
        call: &Call<'_>,
        challenge: &mut CallStepUp,
        code: Option<&str>,
    ) -> Result<Answered, Error> {
        let mut extra = http::HeaderMap::new();
        let headers = challenge.call_headers(code).map_err(Error::StepUpRefused)?;
        add_headers(&mut extra, &headers)?;
        self.send_call(call, &extra)
    }

    /// Asks the program's callback, without the lock: it may wait for a
    /// person.
    fn ask_for_code(&self, prompt: &CodePrompt) -> Result<StepUpAnswer, Error> {
        let step_up = self.step_up.as_ref().ok_or(Error::StepUpRequired)?;
        tracing::info!(
            provider = P::NAME,
            reason = ?prompt.reason,
            tries_left = prompt.tries_left,
            "asking the user for the call's code"
        );
        Ok((step_up.callback)(prompt))
    }
}
