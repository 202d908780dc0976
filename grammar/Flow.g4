// The ccaflow workflow language.
//
// A workflow file is a list of items: imports, the workflow's identity, parameters,
// calendars and read schedules, milestones and gates, exclusions, phases, notice sets,
// the Connect CCASR submission, rules and assertions. Every alternative is labelled and
// every element named, so compiler/parser.cpp reads `ctx->name` instead of counting children.
grammar Flow;

file : items+=item* EOF ;

item
  : 'import' modules+=ident (',' modules+=ident)*                                # ImportItem
  | 'workflow' title=STRING '{' props+=workflowProp* '}'                          # WorkflowItem
  | 'param' name=ident '=' value=expr                                             # ParamItem
  | 'calendar' name=ident '{' entries+=calendarEntry* '}'                         # CalendarItem
  | 'reads' name=ident '{' props+=readsProp* '}'                                  # ReadsItem
  | kind=('milestone' | 'gate') name=ident title=STRING? props+=taskProp*         # TaskItem
  | 'exclude' reason=STRING 'when' cond=expr                                      # ExcludeItem
  | 'phase' name=ident title=STRING? '{' props+=phaseProp* '}'                    # PhaseItem
  | 'notices' name=ident 'for' 'each' 'phase' '{' notices+=notice* '}'            # NoticesItem
  | 'connect' 'for' 'each' 'phase' '{' props+=connectProp* '}'                    # ConnectItem
  | 'rule' name=ident title=STRING? 'for' 'each' quantifiers+=quantifier
      (',' quantifiers+=quantifier)* '{' body+=statement* '}'                     # RuleItem
  | 'require' rules+=qualifiedName (',' rules+=qualifiedName)*                    # RequireItem
  | 'optouts' name=ident '{' props+=optoutProp* '}'                               # OptoutsItem
  | 'responses' name=ident '{' props+=responseProp* '}'                           # ResponsesItem
  | 'assert' cond=expr (':' message=STRING)?                                      # AssertItem
  ;

workflowProp
  : 'cca' code=ident ('duns' duns=STRING)?                       # CcaProp
  | 'utility' code=ident name=STRING? ('duns' duns=STRING)?      # UtilityProp
  | 'calendar' ref=qualifiedName      # CalendarProp
  | 'reads' ref=qualifiedName         # ReadScheduleProp
  | 'customers' path=STRING           # CustomersProp
  | 'optouts' ref=qualifiedName       # OptoutPolicyProp
  | 'responses' ref=qualifiedName     # ResponsePolicyProp
  ;

// How opt-outs are handled: the settings domain.md leaves to each CCA and utility.
optoutProp
  : 'early' action=('hold' | 'reject')                            # EarlyOptoutProp
  | 'free' span=primary 'after' 'switch'                           # FreePeriodProp
  | 'return' span=primary 'after' 'cycle' 'end'                    # ReturnNoticeProp
  | 'fee' customerClass=ident amount=NUMBER                        # FeeProp
  ;

// What happens to a rejected CCASR, by the utility's reject reason code.
responseProp
  : 'retry' codes+=STRING (',' codes+=STRING)*                     # RetryCodesProp
  | 'hold' codes+=STRING (',' codes+=STRING)*                      # HoldCodesProp
  ;

calendarEntry
  : 'weekend' days+=ident (',' days+=ident)*     # WeekendEntry
  | 'holiday' day=DATE name=STRING               # HolidayEntry
  ;

readsProp
  : 'file' path=STRING                # ReadsFileProp
  | 'calendar' ref=qualifiedName      # ReadsCalendarProp
  ;

taskProp
  : 'owner' who=ident                                        # OwnerProp
  | 'due' when=term                                          # DueProp
  | 'needs' deps+=qualifiedName (',' deps+=qualifiedName)*   # TaskAfterProp
  ;

phaseProp
  : 'select' cond=expr                                       # SelectProp
  | 'enroll' when=term                                       # EnrollProp
  | 'needs' deps+=qualifiedName (',' deps+=qualifiedName)*   # PhaseAfterProp
  ;

notice : stage=('pre' | 'post') name=ident window props+=noticeProp* ;

window
  : 'between' from=term 'and' to=term                                  # BetweenWindow
  | 'within' span=primary direction=('before' | 'after') anchor=term    # WithinWindow
  | 'in' 'billing' 'cycle' index=NUMBER 'after' anchor=term             # CycleWindow
  | 'on' day=term                                                       # OnWindow
  ;

noticeProp
  : 'needs' deps+=qualifiedName (',' deps+=qualifiedName)*   # NoticeAfterProp
  | 'sender' who=ident                                       # SenderProp
  | 'template' path=STRING                                   # TemplateProp
  | 'retry' times=NUMBER                                     # NoticeRetryProp
  | 'deadline' span=term                                     # NoticeDeadlineProp
  ;

connectProp
  : 'submit' when=term                                       # SubmitProp
  | 'retry' times=NUMBER                                     # ConnectRetryProp
  | 'deadline' span=term                                     # ConnectDeadlineProp
  ;

quantifier : kind=('phase' | 'cycle' | 'notice') var=ident ('in' source=term)? ;

statement
  : 'require' cond=expr (':' message=STRING)?                # RequireStatement
  | 'let' name=ident '=' value=expr                          # LetStatement
  | 'for' 'each' binding=quantifier '{' body+=statement* '}' # ForEachStatement
  ;

// Boolean and comparison expressions (selectors, rules, assertions).
expr
  : left=expr op=('==' | '!=' | '<' | '<=' | '>' | '>=') right=expr    # CompareExpr
  | left=expr op='in' right=expr                                       # InExpr
  | op='not' operand=expr                                              # NotExpr
  | left=expr op='and' right=expr                                      # AndExpr
  | left=expr op='or' right=expr                                       # OrExpr
  | value=term                                                         # TermExpr
  ;

// Dates, durations, numbers, texts and lists. `60 days before enroll` is a term, so a
// window's `between A and B` never confuses its `and` with the boolean one.
term
  : operand=term '.' member=memberName                         # MemberTerm
  | operand=term '[' index=expr ']'                            # IndexTerm
  | left=term op=('+' | '-') right=term                        # AddTerm
  | span=term direction=('before' | 'after') anchor=term       # RelativeTerm
  | primary                                                    # PrimaryTerm
  ;

primary
  : value=DATE                                                 # DateLiteral
  | amount=NUMBER unit=durationUnit                            # DurationLiteral
  | value=NUMBER                                               # NumberLiteral
  | value=STRING                                               # TextLiteral
  | value=('true' | 'false')                                   # BoolLiteral
  | function=ident '(' (args+=expr (',' args+=expr)*)? ')'     # CallPrimary
  | name=ident                                                 # NamePrimary
  | '[' (items+=expr (',' items+=expr)*)? ']'                  # ListPrimary
  | '(' inner=expr ')'                                         # ParenPrimary
  ;

durationUnit
  : word=('day' | 'days')                          # DaysUnit
  | 'business' word=('day' | 'days')               # BusinessDaysUnit
  | word=('week' | 'weeks')                        # WeeksUnit
  | word=('month' | 'months')                      # MonthsUnit
  | 'billing' word=('cycle' | 'cycles')            # BillingCyclesUnit
  ;

qualifiedName : parts+=ident ('.' parts+=ident)* ;

// After a dot, words that are keywords elsewhere name members: `p.cycles`, `c.notices`.
memberName : ident | 'cycles' | 'cycle' | 'notices' | 'notice' | 'phase' ;

// Words that are keywords in one place but ordinary names elsewhere.
ident
  : ID | 'enroll' | 'switch' | 'read' | 'file'
  | 'owner' | 'due' | 'sender' | 'template' | 'select' | 'cca' | 'utility'
  | 'customers' | 'calendar' | 'reads' | 'weekend' | 'holiday' | 'submit'
  | 'retry' | 'deadline' | 'pre' | 'post' | 'on' | 'billing' | 'business' | 'duns'
  | 'early' | 'hold' | 'reject' | 'free' | 'fee' | 'end' | 'optouts' | 'responses'
  ;

DATE    : [0-9] [0-9] [0-9] [0-9] '-' [0-9] [0-9] '-' [0-9] [0-9] ;
NUMBER  : [0-9]+ ('.' [0-9]+)? ;
STRING  : '"' (~["\\\r\n] | '\\' ["\\nt])* '"' ;
ID      : [a-zA-Z_] [a-zA-Z_0-9]* ;
COMMENT : '#' ~[\r\n]* -> skip ;
WS      : [ \t\r\n]+ -> skip ;
// Anything else becomes a token of its own, reported by the parser with its position.
UNKNOWN : . ;
