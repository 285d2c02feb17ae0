// The PEGTL grammar of the /model directive and of the alias shorthand's tail (what may follow
// "/<alias>"). Private to grammar/ and its tests; the public entry points are in directive.h.
//
// The rules only run at candidate positions that FindWord() already found ("/model" at a
// boundary, followed by the end, whitespace or ':'), so BOUND is not part of the grammar.
//
// Every top rule is written so that it never throws (no must<>, no raise<>) and so that every
// action fires only for a part that is final: an action on a rule that an outer rule may still
// abandon writes into a tentative slot that only the outer rule's own action commits.
#ifndef MODELPIN_GRAMMAR_MODEL_GRAMMAR_H_
#define MODELPIN_GRAMMAR_MODEL_GRAMMAR_H_

#include <tao/pegtl.hpp>

namespace modelpin::grammar::rules {

namespace pegtl = tao::pegtl;
using pegtl::at;
using pegtl::eof;
using pegtl::not_at;
using pegtl::one;
using pegtl::opt;
using pegtl::plus;
using pegtl::ranges;
using pegtl::rep;
using pegtl::seq;
using pegtl::sor;
using pegtl::star;
using pegtl::xdigit;

// clang-format off

// Character classes.
//   WS         := the JavaScript `\s` class, one code point (UTF-8)
//   SEG-CHAR   := A-Z a-z 0-9 _ . : @ -
//   VALUE-CHAR := A-Z a-z 0-9 _ . : -
struct ws : sor< one< ' ', '\t', '\n', '\v', '\f', '\r' >,
                 pegtl::utf8::one< 0x00A0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF >,
                 pegtl::utf8::range< 0x2000, 0x200A > > {};
struct alnum : ranges< 'a', 'z', 'A', 'Z', '0', '9' > {};
struct seg_char : sor< alnum, one< '_', '.', ':', '@', '-' > > {};
struct value_char : sor< alnum, one< '_', '.', ':', '-' > > {};

// END-CHECK := at( end | WS | ":" )        OPTION-END := at( end | WS )
struct end_check : at< sor< eof, ws, one< ':' > > > {};
struct option_end : at< sor< eof, ws > > {};

// The command word and its optional colon:   "/model"   [ WS* ":" ]
struct model_word : TAO_PEGTL_ISTRING( "/model" ) {};
struct colon_prefix : seq< star< ws >, one< ':' > > {};

// PLAIN := SEG ( "/" SEG )*
struct seg : plus< seg_char > {};
struct plain : seq< seg, star< one< '/' >, seg > > {};

// QUOTED := a JSON string literal (no raw control characters, only JSON escapes).
struct json_escape : seq< one< '\\' >, sor< one< '"', '\\', '/', 'b', 'f', 'n', 'r', 't' >,
                                            seq< one< 'u' >, rep< 4, xdigit > > > > {};
struct json_char : sor< json_escape, seq< not_at< one< '"', '\\' > >, pegtl::not_range< 0, 0x1F > > > {};
struct quoted : seq< one< '"' >, star< json_char >, one< '"' > > {};

// REF := (QUOTED | PLAIN) "@" QUOTED  |  PLAIN
// In the quoted form the plain model stops before the '@' that opens the quoted profile (a
// PLAIN can never hold '"', so that is the only '@' a backtracking matcher could pick).
struct lazy_seg : plus< sor< alnum, one< '_', '.', ':', '-' >, seq< one< '@' >, not_at< one< '"' > > > > > {};
struct quoted_model : quoted {};
struct plain_model : seq< lazy_seg, star< one< '/' >, lazy_seg > > {};
struct quoted_profile : quoted {};
struct quoted_ref : seq< sor< quoted_model, plain_model >, one< '@' >, quoted_profile > {};
struct plain_ref : plain {};
struct ref : sor< quoted_ref, plain_ref > {};

// SCOPE  := ( "--session" | "-s" | "--agent" | "-a" | "--global" | "-g" ) OPTION-END
struct session_scope : seq< sor< TAO_PEGTL_ISTRING( "--session" ), TAO_PEGTL_ISTRING( "-s" ) >, option_end > {};
struct agent_scope : seq< sor< TAO_PEGTL_ISTRING( "--agent" ), TAO_PEGTL_ISTRING( "-a" ) >, option_end > {};
struct global_scope : seq< sor< TAO_PEGTL_ISTRING( "--global" ), TAO_PEGTL_ISTRING( "-g" ) >, option_end > {};
struct scope : sor< session_scope, agent_scope, global_scope > {};

// OPTION := SCOPE | "--runtime" OPTION-END | "runtime=" | "harness="
struct runtime_keyword : sor< TAO_PEGTL_ISTRING( "--runtime" ), TAO_PEGTL_ISTRING( "runtime=" ),
                              TAO_PEGTL_ISTRING( "harness=" ) > {};
struct option : sor< scope, seq< TAO_PEGTL_ISTRING( "--runtime" ), option_end >,
                     TAO_PEGTL_ISTRING( "runtime=" ), TAO_PEGTL_ISTRING( "harness=" ) > {};

// RUNTIME := ( "--runtime" | "runtime=" | "harness=" ) WS* VALUE     (VALUE may not start an OPTION)
struct runtime_value : plus< value_char > {};
struct runtime : seq< runtime_keyword, star< ws >, not_at< option >, runtime_value > {};

// TRAILING := WS+ RUNTIME [ WS+ SCOPE ] | WS+ SCOPE [ WS+ RUNTIME ]
struct runtime_then_scope : seq< runtime, opt< plus< ws >, scope > > {};
struct scope_then_runtime : seq< scope, opt< plus< ws >, runtime > > {};
struct trailing : sor< seq< plus< ws >, runtime_then_scope >, seq< plus< ws >, scope_then_runtime > > {};

// directive := "/model" END-CHECK [ WS* ":" ] [ WS* REF ] [ TRAILING ]    (REF may not start an OPTION)
struct reference : seq< star< ws >, not_at< option >, ref > {};
struct directive : seq< model_word, end_check, opt< colon_prefix >, opt< reference >, opt< trailing > > {};

// options_only := "/model" END-CHECK WS* [ ":" ] WS* ( RUNTIME [ WS+ SCOPE ] | SCOPE [ WS+ RUNTIME ] )
struct options_only : seq< model_word, end_check, star< ws >, opt< one< ':' > >, star< ws >,
                           sor< runtime_then_scope, scope_then_runtime > > {};

// alias_tail := [ WS* ":" ] [ TRAILING ]      (what follows "/<alias>" and its end check)
struct alias_tail : seq< opt< colon_prefix >, opt< trailing > > {};

// extra_scope := WS+ SCOPE     (right after a match: "Use only one model scope option.")
struct extra_scope : seq< plus< ws >, scope > {};

// clang-format on

}  // namespace modelpin::grammar::rules

#endif  // MODELPIN_GRAMMAR_MODEL_GRAMMAR_H_
