"""Translate a SAM template to the CloudFormation template it deploys as, on standard output (JSON).

The same translator `sam validate` and CloudFormation's AWS::Serverless transform use
(aws-sam-translator, pinned in infra/requirements.txt), without AWS credentials: the template
names no AWS managed policy, so no policy ARN needs looking up. Used by templatecheck_test.go.
"""
import json
import sys

from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse


def main(path):
    with open(path, encoding="utf-8") as f:
        sam = yaml_parse(f.read())
    for name, res in sam.get("Resources", {}).items():
        if res.get("Type") == "AWS::Serverless::Function":
            # What `sam deploy` puts there once it has uploaded the built function.
            res["Properties"]["CodeUri"] = "s3://deployment-bucket/%s.zip" % name
    cfn = Translator(managed_policy_map={}, sam_parser=Parser()).translate(sam_template=sam, parameter_values={})
    json.dump(cfn, sys.stdout, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
