#define BOOST_TEST_MODULE grammar
#include <boost/test/unit_test.hpp>
#include "grammar/directive.h"
BOOST_AUTO_TEST_CASE(Placeholder) { BOOST_TEST(!modelpin::grammar::FindModelDirective("x").has_value()); }
