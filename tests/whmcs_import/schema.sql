-- The WHMCS 8.x tables and columns the importer reads (whmcs_import/), as WHMCS creates them: names, types and
-- enumerations from WHMCS's public documentation and from public projects that read a WHMCS database. Only the
-- columns the importer uses, plus a few neighbours, so that tests and the benchmark build a faithful source.
-- Latin-1 leftovers: tblclients.notes and tblcontacts are latin1 columns, as older WHMCS installations left them.

CREATE TABLE tblconfiguration (
  setting varchar(64) NOT NULL PRIMARY KEY,
  value text NOT NULL,
  created_at timestamp NULL DEFAULT NULL,
  updated_at timestamp NULL DEFAULT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblcurrencies (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code text NOT NULL,
  prefix text NOT NULL,
  suffix text NOT NULL,
  format int(1) NOT NULL DEFAULT 1,
  rate decimal(10,5) NOT NULL DEFAULT 1.00000,
  `default` int(1) NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblclientgroups (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  groupname text NOT NULL,
  groupcolour text NOT NULL,
  discountpercent decimal(10,2) unsigned DEFAULT 0.00,
  susptermexempt text NOT NULL,
  separateinvoices text NOT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblclients (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  uuid varchar(255) NOT NULL DEFAULT '',
  firstname text NOT NULL,
  lastname text NOT NULL,
  companyname text NOT NULL,
  email text NOT NULL,
  address1 text NOT NULL,
  address2 text NOT NULL,
  city text NOT NULL,
  state text NOT NULL,
  postcode text NOT NULL,
  country text NOT NULL,
  phonenumber text NOT NULL,
  tax_id varchar(128) NOT NULL DEFAULT '',
  password text NOT NULL,
  currency int(10) NOT NULL,
  defaultgateway text NOT NULL,
  credit decimal(16,2) NOT NULL,
  taxexempt tinyint(1) NOT NULL,
  groupid int(10) NOT NULL,
  datecreated date NOT NULL,
  notes text CHARACTER SET latin1 NOT NULL,
  status enum('Active','Inactive','Closed') NOT NULL DEFAULT 'Active',
  language text NOT NULL,
  lastlogin datetime DEFAULT NULL,
  created_at timestamp NOT NULL DEFAULT '0000-00-00 00:00:00',
  updated_at timestamp NOT NULL DEFAULT '0000-00-00 00:00:00'
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblcontacts (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  userid int(10) NOT NULL,
  firstname text CHARACTER SET latin1 NOT NULL,
  lastname text CHARACTER SET latin1 NOT NULL,
  companyname text CHARACTER SET latin1 NOT NULL,
  email text NOT NULL,
  address1 text NOT NULL,
  address2 text NOT NULL,
  city text NOT NULL,
  state text NOT NULL,
  postcode text NOT NULL,
  country text NOT NULL,
  phonenumber text NOT NULL,
  subaccount int(1) NOT NULL DEFAULT 0,
  password text NOT NULL,
  permissions text NOT NULL,
  domainemails int(1) NOT NULL,
  generalemails int(1) NOT NULL,
  invoiceemails int(1) NOT NULL,
  productemails int(1) NOT NULL,
  supportemails int(1) NOT NULL,
  affiliateemails int(1) NOT NULL,
  KEY userid (userid)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblusers (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  first_name varchar(255) NOT NULL DEFAULT '',
  last_name varchar(255) NOT NULL DEFAULT '',
  email varchar(255) NOT NULL DEFAULT '',
  password varchar(255) NOT NULL DEFAULT '',
  language varchar(32) NOT NULL DEFAULT '',
  second_factor varchar(255) NOT NULL DEFAULT '',
  last_login timestamp NULL DEFAULT NULL,
  created_at timestamp NULL DEFAULT NULL,
  updated_at timestamp NULL DEFAULT NULL,
  UNIQUE KEY email (email)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblusers_clients (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  auth_user_id int(10) unsigned NOT NULL DEFAULT 0,
  client_id int(10) unsigned NOT NULL DEFAULT 0,
  invite_id int(10) unsigned NOT NULL DEFAULT 0,
  owner tinyint(1) NOT NULL DEFAULT 0,
  permissions text,
  last_login timestamp NULL DEFAULT NULL,
  created_at timestamp NULL DEFAULT NULL,
  updated_at timestamp NULL DEFAULT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblproductgroups (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name text NOT NULL,
  slug varchar(128) NOT NULL DEFAULT '',
  headline text,
  tagline text,
  orderfrmtpl text NOT NULL,
  disabledgateways text NOT NULL,
  hidden tinyint(1) NOT NULL,
  `order` int(1) NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblproducts (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type text NOT NULL,
  gid int(10) NOT NULL,
  name text NOT NULL,
  slug varchar(128) NOT NULL DEFAULT '',
  description text NOT NULL,
  hidden tinyint(1) NOT NULL,
  paytype text NOT NULL,
  autosetup text NOT NULL,
  servertype text NOT NULL,
  servergroup int(10) NOT NULL,
  configoption1 text NOT NULL, configoption2 text NOT NULL, configoption3 text NOT NULL,
  configoption4 text NOT NULL, configoption5 text NOT NULL, configoption6 text NOT NULL,
  configoption7 text NOT NULL, configoption8 text NOT NULL, configoption9 text NOT NULL,
  configoption10 text NOT NULL, configoption11 text NOT NULL, configoption12 text NOT NULL,
  configoption13 text NOT NULL, configoption14 text NOT NULL, configoption15 text NOT NULL,
  configoption16 text NOT NULL, configoption17 text NOT NULL, configoption18 text NOT NULL,
  configoption19 text NOT NULL, configoption20 text NOT NULL, configoption21 text NOT NULL,
  configoption22 text NOT NULL, configoption23 text NOT NULL, configoption24 text NOT NULL,
  retired tinyint(1) NOT NULL DEFAULT 0,
  `order` int(1) NOT NULL DEFAULT 0,
  created_at timestamp NULL DEFAULT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblpricing (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type enum('product','addon','configoptions','domainregister','domaintransfer','domainrenew','domainaddons','usage') NOT NULL,
  currency int(10) NOT NULL,
  relid int(10) NOT NULL,
  msetupfee decimal(16,2) NOT NULL, qsetupfee decimal(16,2) NOT NULL, ssetupfee decimal(16,2) NOT NULL,
  asetupfee decimal(16,2) NOT NULL, bsetupfee decimal(16,2) NOT NULL, tsetupfee decimal(16,2) NOT NULL,
  monthly decimal(16,2) NOT NULL, quarterly decimal(16,2) NOT NULL, semiannually decimal(16,2) NOT NULL,
  annually decimal(16,2) NOT NULL, biennially decimal(16,2) NOT NULL, triennially decimal(16,2) NOT NULL,
  KEY relid (type, relid)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblproductconfiggroups (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblproductconfiglinks (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  gid int(10) NOT NULL,
  pid int(10) NOT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblproductconfigoptions (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  gid int(10) NOT NULL DEFAULT 0,
  optionname text NOT NULL,
  optiontype text NOT NULL,
  qtyminimum int(10) NOT NULL,
  qtymaximum int(10) NOT NULL,
  `order` int(1) NOT NULL DEFAULT 0,
  hidden tinyint(1) NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblproductconfigoptionssub (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  configid int(10) NOT NULL,
  optionname text NOT NULL,
  sortorder int(10) NOT NULL DEFAULT 0,
  hidden tinyint(1) NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblservers (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name text NOT NULL,
  ipaddress text NOT NULL,
  assignedips text NOT NULL,
  hostname text NOT NULL,
  maxaccounts int(10) NOT NULL DEFAULT 0,
  type text NOT NULL,
  username text NOT NULL,
  password text NOT NULL,
  accesshash text NOT NULL,
  secure text NOT NULL,
  port int(8) DEFAULT NULL,
  active int(1) NOT NULL,
  disabled int(1) NOT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblservergroups (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name text NOT NULL,
  filltype int(1) NOT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblservergroupsrel (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  groupid int(10) NOT NULL,
  serverid int(10) NOT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblhosting (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  userid int(10) NOT NULL,
  orderid int(10) NOT NULL,
  packageid int(10) NOT NULL,
  server int(10) NOT NULL,
  regdate date NOT NULL,
  domain text NOT NULL,
  paymentmethod text NOT NULL,
  qty int(10) unsigned NOT NULL DEFAULT 1,
  firstpaymentamount decimal(16,2) NOT NULL DEFAULT 0.00,
  amount decimal(16,2) NOT NULL DEFAULT 0.00,
  billingcycle text NOT NULL,
  nextduedate date DEFAULT NULL,
  nextinvoicedate date NOT NULL,
  termination_date date NOT NULL DEFAULT '0000-00-00',
  completed_date date NOT NULL DEFAULT '0000-00-00',
  domainstatus enum('Pending','Active','Suspended','Terminated','Cancelled','Fraud','Completed') NOT NULL DEFAULT 'Pending',
  username text NOT NULL,
  password text NOT NULL,
  notes text NOT NULL,
  subscriptionid text NOT NULL,
  promoid int(10) NOT NULL,
  suspendreason text NOT NULL,
  overideautosuspend tinyint(1) NOT NULL,
  overidesuspenduntil date NOT NULL,
  dedicatedip text NOT NULL,
  assignedips text NOT NULL,
  diskusage int(10) NOT NULL DEFAULT 0,
  disklimit int(10) NOT NULL DEFAULT 0,
  bwusage int(10) NOT NULL DEFAULT 0,
  bwlimit int(10) NOT NULL DEFAULT 0,
  lastupdate datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  created_at timestamp NOT NULL DEFAULT '0000-00-00 00:00:00',
  updated_at timestamp NOT NULL DEFAULT '0000-00-00 00:00:00',
  KEY userid (userid)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblhostingconfigoptions (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  relid int(10) NOT NULL,
  configid int(10) NOT NULL,
  optionid int(10) NOT NULL,
  qty int(10) NOT NULL DEFAULT 0,
  KEY relid_configid (relid, configid)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblcustomfields (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type text NOT NULL,
  relid int(10) NOT NULL DEFAULT 0,
  fieldname text NOT NULL,
  fieldtype text NOT NULL,
  description text NOT NULL,
  fieldoptions text NOT NULL,
  regexpr text NOT NULL,
  adminonly text NOT NULL,
  required text NOT NULL,
  showorder text NOT NULL,
  showinvoice text NOT NULL,
  sortorder int(10) NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblcustomfieldsvalues (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  fieldid int(10) NOT NULL,
  relid int(10) NOT NULL,
  value text NOT NULL,
  KEY fieldid_relid (fieldid, relid)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblinvoices (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  userid int(10) NOT NULL,
  invoicenum text NOT NULL,
  date date DEFAULT NULL,
  duedate date DEFAULT NULL,
  datepaid datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  last_capture_attempt datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  subtotal decimal(16,2) NOT NULL,
  credit decimal(16,2) NOT NULL,
  tax decimal(16,2) NOT NULL,
  tax2 decimal(16,2) NOT NULL,
  total decimal(16,2) NOT NULL DEFAULT 0.00,
  taxrate decimal(10,3) NOT NULL,
  taxrate2 decimal(10,3) NOT NULL,
  status text NOT NULL,
  paymentmethod text NOT NULL,
  notes text NOT NULL,
  created_at timestamp NOT NULL DEFAULT '0000-00-00 00:00:00',
  updated_at timestamp NOT NULL DEFAULT '0000-00-00 00:00:00',
  KEY userid (userid)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblinvoiceitems (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  invoiceid int(10) NOT NULL DEFAULT 0,
  userid int(10) NOT NULL,
  type varchar(30) NOT NULL,
  relid int(10) NOT NULL,
  description text NOT NULL,
  amount decimal(16,2) NOT NULL DEFAULT 0.00,
  taxed int(1) NOT NULL,
  duedate date DEFAULT NULL,
  paymentmethod text NOT NULL,
  notes text NOT NULL,
  KEY invoiceid (invoiceid)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblaccounts (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  userid int(10) NOT NULL,
  currency int(10) NOT NULL,
  gateway text NOT NULL,
  date datetime DEFAULT NULL,
  description text NOT NULL,
  amountin decimal(16,2) NOT NULL DEFAULT 0.00,
  fees decimal(16,2) NOT NULL DEFAULT 0.00,
  amountout decimal(16,2) NOT NULL DEFAULT 0.00,
  rate decimal(16,5) NOT NULL DEFAULT 1.00000,
  transid text NOT NULL,
  invoiceid int(10) NOT NULL DEFAULT 0,
  refundid int(10) NOT NULL DEFAULT 0,
  KEY userid (userid),
  KEY invoiceid (invoiceid)
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblcredit (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  clientid int(10) NOT NULL,
  admin_id int(10) unsigned NOT NULL DEFAULT 0,
  date date NOT NULL,
  description text NOT NULL,
  amount decimal(16,2) NOT NULL,
  relid int(10) NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblcancelrequests (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  date datetime NOT NULL,
  relid int(10) NOT NULL,
  reason text NOT NULL,
  type text NOT NULL
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tblemailtemplates (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type text NOT NULL,
  name text NOT NULL,
  subject text NOT NULL,
  message text NOT NULL,
  attachments text NOT NULL,
  fromname text NOT NULL,
  fromemail text NOT NULL,
  disabled tinyint(1) NOT NULL,
  custom tinyint(1) NOT NULL,
  language text NOT NULL,
  copyto text NOT NULL,
  plaintext int(1) NOT NULL
) DEFAULT CHARSET=utf8mb4;

-- PUQ "Overwrite Suspend/Termination" (seed 001): the add-on's rules per product or product group. The add-on's
-- table is not publicly documented: this is the shape the importer reads when it is present (docs/whmcs-migration.md).
CREATE TABLE mod_puq_overwrite_suspend_termination (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type varchar(16) NOT NULL,
  relid int(10) NOT NULL,
  overwrite_suspension tinyint(1) NOT NULL DEFAULT 0,
  suspend_days int(10) NOT NULL DEFAULT 0,
  overwrite_termination tinyint(1) NOT NULL DEFAULT 0,
  terminate_days int(10) NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4;

CREATE TABLE tbladdonmodules (
  module text NOT NULL,
  setting text NOT NULL,
  value text NOT NULL
) DEFAULT CHARSET=utf8mb4;

-- Tax rules: level 1 or 2, state '' = the whole country, country '' = every country. Compounding of level 2 and
-- inclusive/exclusive prices are settings in tblconfiguration (TaxL2Compound, TaxType, TaxPerLineItem).
CREATE TABLE tbltax (
  id int(10) NOT NULL AUTO_INCREMENT PRIMARY KEY,
  level int(1) NOT NULL,
  name text NOT NULL,
  state text NOT NULL,
  country text NOT NULL,
  taxrate decimal(10,3) NOT NULL
) DEFAULT CHARSET=utf8mb4;
